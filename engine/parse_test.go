package engine

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseRestart(t *testing.T) {
	tests := []struct {
		in      string
		want    RestartPolicy
		wantErr string
	}{
		{"", RestartPolicy{Name: "no"}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:2", RestartPolicy{Name: "on-failure", MaxRetries: 2}, ""},
		{"on-failure:x", RestartPolicy{}, "retry count"},
		{"always:3", RestartPolicy{}, "only to on-failure"},
		{"x", RestartPolicy{}, `invalid --restart "x": use no, on-failure[:N], always or unless-stopped`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRestart(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("error %v is not ErrInvalidArgument", err)
	}
}

func TestParseVolume(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		name, in string
		want     Mount
		wantErr  string
	}{
		{"anonymous", "/data", Mount{Type: "volume", Target: "/data"}, ""},
		{"anonymous ro", "/data:ro", Mount{Type: "volume", Target: "/data", ReadOnly: true}, ""},
		{"named", "vol:/data", Mount{Type: "volume", Source: "vol", Target: "/data"}, ""},
		{"named ro nocopy", "vol:/data:ro,nocopy", Mount{Type: "volume", Source: "vol", Target: "/data", ReadOnly: true, NoCopy: true}, ""},
		{"bind", "/host/x:/x", Mount{Type: "bind", Source: "/host/x", Target: "/x"}, ""},
		{"bind relative", "./x:/x:ro,rshared", Mount{Type: "bind", Source: filepath.Join(wd, "x"), Target: "/x", ReadOnly: true, Options: []string{"rshared"}}, ""},
		{"bind nocopy", "/h:/x:nocopy", Mount{}, "nocopy applies to volumes only"},
		{"relative target", "vol:data", Mount{}, "must be an absolute path"},
		{"root target", "vol:/", Mount{}, "cannot mount over /"},
		{"bad option", "vol:/d:bogus", Mount{}, `unknown option "bogus"`},
		{"too many", "a:/b:ro:x", Mount{}, "use [SOURCE:]TARGET[:OPTIONS]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVolume(tt.in)
			checkErr(t, err, tt.wantErr)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMountFlag(t *testing.T) {
	tests := []struct {
		name, in string
		want     Mount
		wantErr  string
	}{
		{"volume", "type=volume,src=v,dst=/d,readonly,volume-nocopy", Mount{Type: "volume", Source: "v", Target: "/d", ReadOnly: true, NoCopy: true}, ""},
		{"default type", "source=v,target=/d,ro=false", Mount{Type: "volume", Source: "v", Target: "/d"}, ""},
		{"bind", "type=bind,source=/h,destination=/d,bind-propagation=rslave", Mount{Type: "bind", Source: "/h", Target: "/d", Options: []string{"rslave"}}, ""},
		{"tmpfs", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", Mount{Type: "tmpfs", Target: "/t", Options: []string{"size=1048576", "mode=1770"}}, ""},
		{"tmpfs with source", "type=tmpfs,src=x,dst=/t", Mount{}, "takes no source"},
		{"bad type", "type=nfs,dst=/t", Mount{}, "type must be volume, bind or tmpfs"},
		{"no target", "type=volume,src=v", Mount{}, "target path is missing"},
		{"bind without source", "type=bind,dst=/d", Mount{}, "needs a source path"},
		{"unknown field", "type=bind,src=/a,dst=/d,colour=red", Mount{}, `unknown field "colour"`},
		{"bad bool", "src=v,dst=/d,readonly=maybe", Mount{}, "takes true or false"},
		{"local driver", "src=v,dst=/d,volume-driver=local", Mount{Type: "volume", Source: "v", Target: "/d"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountFlag(tt.in)
			checkErr(t, err, tt.wantErr)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTmpfs(t *testing.T) {
	got, err := ParseTmpfs("/run:rw,noexec,size=64m,ro")
	checkErr(t, err, "")
	want := Mount{Type: "tmpfs", Target: "/run", ReadOnly: true, Options: []string{"rw", "noexec", "size=64m"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	_, err = ParseTmpfs("run")
	checkErr(t, err, "absolute")
}

func TestParseMisc(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		n, err := ParseMemory("--memory", "32m")
		checkErr(t, err, "")
		if n != 32<<20 {
			t.Errorf("32m = %d", n)
		}
		_, err = ParseMemory("--memory", "1k")
		checkErr(t, err, "minimum memory limit is 6MB")
		_, err = ParseMemory("--memory", "lots")
		checkErr(t, err, `invalid --memory "lots"`)
	})
	t.Run("cpus", func(t *testing.T) {
		n, err := ParseCPUs("0.5")
		checkErr(t, err, "")
		if n != 500000000 {
			t.Errorf("0.5 = %d", n)
		}
		_, err = ParseCPUs("-1")
		checkErr(t, err, "invalid --cpus")
	})
	t.Run("ulimit", func(t *testing.T) {
		u, err := ParseUlimit("nofile=1024:2048")
		checkErr(t, err, "")
		if u != (Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}) {
			t.Errorf("got %+v", u)
		}
		_, err = ParseUlimit("nofile")
		checkErr(t, err, "use name=soft[:hard]")
	})
	t.Run("security-opt", func(t *testing.T) {
		var c ContainerConfig
		for _, s := range []string{"no-new-privileges", "seccomp=unconfined"} {
			checkErr(t, ParseSecurityOpt(&c, s), "")
		}
		if !c.NoNewPrivileges || c.Seccomp != "unconfined" || len(c.SecurityOpt) != 2 {
			t.Errorf("got %+v", c)
		}
		checkErr(t, ParseSecurityOpt(&c, "no-new-privileges:false"), "")
		if c.NoNewPrivileges {
			t.Error("no-new-privileges:false left it on")
		}
		checkErr(t, ParseSecurityOpt(&c, "bogus=1"), "invalid --security-opt")
		checkErr(t, ParseSecurityOpt(&c, "seccomp"), "seccomp=unconfined")
	})
	t.Run("network", func(t *testing.T) {
		mode, nets, err := ParseNetwork([]string{"a", "b"})
		checkErr(t, err, "")
		if mode != "" || !reflect.DeepEqual(nets, []string{"a", "b"}) {
			t.Errorf("got %q %v", mode, nets)
		}
		mode, _, err = ParseNetwork([]string{"container:web"})
		checkErr(t, err, "")
		if mode != "container:web" {
			t.Errorf("got %q", mode)
		}
		_, _, err = ParseNetwork([]string{"host", "a"})
		checkErr(t, err, "cannot be combined")
	})
	t.Run("add-host", func(t *testing.T) {
		h, err := ParseAddHost("db=10.0.0.2")
		checkErr(t, err, "")
		if h != "db:10.0.0.2" {
			t.Errorf("got %q", h)
		}
		_, err = ParseAddHost("db:nope")
		checkErr(t, err, "not an IP address")
	})
}

func TestKeyValueFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env")
	os.WriteFile(p, []byte("# comment\nA=1\n\n  B=two words\r\nFROMHOST\nUNSET\n"), 0o644)
	lookup := func(k string) (string, bool) {
		if k == "FROMHOST" {
			return "h", true
		}
		return "", false
	}
	got, err := ParseKeyValueFile(p, lookup)
	checkErr(t, err, "")
	want := []string{"A=1", "B=two words", "FROMHOST=h"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	os.WriteFile(p, []byte("BAD KEY=1\n"), 0o644)
	_, err = ParseKeyValueFile(p, lookup)
	checkErr(t, err, ":1: invalid variable name")
}

func TestRunFlagsConfig(t *testing.T) {
	lookup := func(k string) (string, bool) { return map[string]string{"HOME": "/root"}[k], k == "HOME" }
	t.Run("full", func(t *testing.T) {
		f := RunFlags{
			Name: "web", EntrySet: true, Entrypoint: "/bin/sh", Env: []string{"A=1", "HOME", "NOPE"},
			Labels: []string{"a=b", "c"}, Volumes: []string{"v:/v"}, Tmpfs: []string{"/t"},
			Networks: []string{"front", "back"}, Aliases: []string{"www"}, IP: "10.1.0.5",
			Memory: "64m", CPUs: "1.5", PidsLimit: 20, Restart: "on-failure:3",
			HealthCmd: "true", HealthInterval: time.Second, StopTimeout: 2, StopTimeSet: true,
			Ulimits: []string{"nofile=10:20"}, Sysctls: []string{"net.ipv4.ip_forward=1"},
		}
		c, err := f.Config("busybox", []string{"-c", "echo"}, lookup)
		checkErr(t, err, "")
		want := ContainerConfig{
			Image: "busybox", Name: "web", Cmd: []string{"-c", "echo"}, Entrypoint: []string{"/bin/sh"}, EntrypointSet: true,
			Env: []string{"A=1", "HOME=/root"}, Labels: map[string]string{"a": "b", "c": ""},
			Mounts:    []Mount{{Type: "volume", Source: "v", Target: "/v"}, {Type: "tmpfs", Target: "/t"}},
			Networks:  []NetworkAttachment{{Name: "front", Aliases: []string{"www"}, IP: "10.1.0.5"}, {Name: "back"}},
			Resources: Resources{Memory: 64 << 20, NanoCPUs: 1500000000, PidsLimit: 20},
			Restart:   RestartPolicy{Name: "on-failure", MaxRetries: 3},
			Health:    &HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second},
			Ulimits:   []Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"},
		}
		two := 2
		want.StopTimeout = &two
		if !reflect.DeepEqual(c, want) {
			t.Errorf("got  %+v\nwant %+v", c, want)
		}
	})
	tests := []struct {
		name    string
		f       RunFlags
		wantErr string
	}{
		{"rm and restart", RunFlags{Rm: true, Restart: "always"}, "conflicting options: --restart and --rm"},
		{"no healthcheck with cmd", RunFlags{NoHealthcheck: true, HealthCmd: "x"}, "--no-healthcheck conflicts"},
		{"alias on default bridge", RunFlags{Aliases: []string{"x"}}, "user-defined networks"},
		{"publish with host net", RunFlags{Networks: []string{"host"}, Publish: []string{"80"}}, "need a bridge network"},
		{"duplicate mount", RunFlags{Volumes: []string{"a:/d", "b:/d"}}, `duplicate mount point "/d"`},
		{"bad ip", RunFlags{Networks: []string{"n"}, IP: "x"}, `invalid --ip "x"`},
		{"ip on default bridge", RunFlags{IP: "172.17.0.9"}, "--ip works only on user-defined networks"},
		{"bad dns", RunFlags{DNS: []string{"dns.example"}}, "invalid --dns"},
		{"bad sysctl", RunFlags{Sysctls: []string{"x"}}, `invalid --sysctl "x"`},
		{"bad shares", RunFlags{CPUShares: -1}, "invalid --cpu-shares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.Config("busybox", nil, lookup)
			checkErr(t, err, tt.wantErr)
		})
	}
	t.Run("no image", func(t *testing.T) {
		_, err := (&RunFlags{}).Config("", nil, lookup)
		checkErr(t, err, "an image is required")
	})
	t.Run("no healthcheck", func(t *testing.T) {
		c, err := (&RunFlags{NoHealthcheck: true}).Config("busybox", nil, lookup)
		checkErr(t, err, "")
		if c.Health == nil || c.Health.Test[0] != "NONE" {
			t.Errorf("got %+v", c.Health)
		}
	})
}

func TestParseMountFlagNotImplemented(t *testing.T) {
	for _, in := range []string{"src=v,dst=/d,volume-driver=nfs", "src=v,dst=/d,volume-opt=type=tmpfs"} {
		if _, err := ParseMountFlag(in); !errors.Is(err, errdefs.ErrNotImplemented) {
			t.Errorf("%s: error %v, want ErrNotImplemented", in, err)
		}
	}
}
