package image

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseChanges(t *testing.T) {
	base := ImageConfig{Env: []string{"PATH=/bin", "A=1"}, WorkingDir: "/app", Labels: map[string]string{"old": "x"}}
	tests := []struct {
		name    string
		changes []string
		check   func(ImageConfig) bool
	}{
		{"cmd exec form", []string{`CMD ["sh", "-c", "echo hi"]`}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"sh", "-c", "echo hi"})
		}},
		{"cmd shell form", []string{`cmd echo "hi there"`}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", `echo "hi there"`})
		}},
		{"entrypoint", []string{`ENTRYPOINT ["/init"]`}, func(c ImageConfig) bool { return reflect.DeepEqual(c.Entrypoint, []string{"/init"}) }},
		{"env pairs replace and add", []string{`ENV A=2 B="two words" C=x\ y`}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=2", "B=two words", "C=x y"})
		}},
		{"env expansion", []string{`ENV PATH=/app:$PATH X=${A}-${NOPE:-d}-${A:+set} Y='$A' Z=\$A`}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/app:/bin", "A=1", "X=1-d-set", "Y=$A", "Z=$A"})
		}},
		{"workdir expansion", []string{"ENV D=/srv", "WORKDIR $D/www"}, func(c ImageConfig) bool { return c.WorkingDir == "/srv/www" }},
		{"env legacy form", []string{"ENV GREETING hello world"}, func(c ImageConfig) bool {
			return c.Env[2] == "GREETING=hello world"
		}},
		{"workdir relative", []string{"WORKDIR sub", "WORKDIR ../other"}, func(c ImageConfig) bool { return c.WorkingDir == "/app/other" }},
		{"user", []string{"USER 1000:1000"}, func(c ImageConfig) bool { return c.User == "1000:1000" }},
		{"expose", []string{"EXPOSE 80 53/udp 8000-8002"}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.ExposedPorts, []string{"53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"})
		}},
		{"label", []string{`LABEL a=b "c d"=e`}, func(c ImageConfig) bool {
			return c.Labels["a"] == "b" && c.Labels["c d"] == "e" && c.Labels["old"] == "x"
		}},
		{"volume forms", []string{`VOLUME ["/data"]`, "VOLUME /b /a"}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Volumes, []string{"/a", "/b", "/data"})
		}},
		{"stopsignal", []string{"STOPSIGNAL SIGQUIT"}, func(c ImageConfig) bool { return c.StopSignal == "SIGQUIT" }},
		{"healthcheck", []string{"HEALTHCHECK --interval=5s --retries=2 --start-period=1s CMD wget -q localhost"}, func(c ImageConfig) bool {
			h := c.Healthcheck
			return h != nil && reflect.DeepEqual(h.Test, []string{"CMD-SHELL", "wget -q localhost"}) && h.Interval == 5*time.Second && h.Retries == 2 && h.StartPeriod == time.Second
		}},
		{"healthcheck exec", []string{`HEALTHCHECK CMD ["true"]`}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Healthcheck.Test, []string{"CMD", "true"})
		}},
		{"healthcheck none", []string{"HEALTHCHECK NONE"}, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Healthcheck.Test, []string{"NONE"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChanges(tt.changes, base)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
	if !reflect.DeepEqual(base.Env, []string{"PATH=/bin", "A=1"}) || len(base.Labels) != 1 {
		t.Errorf("base modified: %+v", base)
	}
}

func TestParseChangesErrors(t *testing.T) {
	for _, bad := range []string{"RUN echo", "FROM x", "EXPOSE 0", "EXPOSE 80/xyz", "ENV", `ENV A="unterminated`, "HEALTHCHECK --interval=abc CMD x", "HEALTHCHECK echo", "WORKDIR"} {
		t.Run(bad, func(t *testing.T) {
			if _, err := ParseChanges([]string{bad}, ImageConfig{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("err = %v, want invalid argument", err)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct{ in, full, familiar string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b:c"},
		{"ghcr.io/o/r@sha256:" + sixtyFour, "ghcr.io/o/r@sha256:" + sixtyFour, "ghcr.io/o/r@sha256:" + sixtyFour},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := parseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.full || familiar(r.String()) != tt.familiar {
				t.Errorf("got %q / %q", r.String(), familiar(r.String()))
			}
		})
	}
	for _, bad := range []string{"", "UPPER", "a:b:c", "a/-b", "x:" + string(make([]byte, 200)), "a@sha256:short"} {
		if _, err := parseReference(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("parseReference(%q) = %v, want invalid argument", bad, err)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
