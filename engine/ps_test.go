package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/format"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ts(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }

func sampleContainers() []*Details {
	web := &Details{
		ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Name: "/web",
		Created: ts(10 * time.Minute), Path: "httpd", Args: []string{"-f", "-p", "8080", "-h", "/var/www"},
		State: StateDetails{Status: "running", Running: true, StartedAt: ts(2 * time.Minute),
			Health: &HealthDetails{Status: "healthy"}},
		Image:  "sha256:aaaa",
		Config: ConfigDetails{Image: "busybox", Labels: map[string]string{"tier": "front", "app": "x"}},
		NetworkSettings: NetworkSettings{Ports: map[string][]PortBinding{
			"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "18080"}}, "443/tcp": nil}},
	}
	old := &Details{
		ID: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", Name: "/old",
		Created: ts(time.Hour), Path: "sh", Args: []string{"-c", "exit 137"},
		State:  StateDetails{Status: "exited", ExitCode: 137, FinishedAt: ts(5 * time.Second)},
		Image:  "sha256:bbbbbbbbbbbbbbbbbbbbbb",
		Config: ConfigDetails{Image: "sha256:bbbbbbbbbbbbbbbbbbbbbb", Labels: map[string]string{"tier": "back"}},
	}
	fresh := &Details{
		ID: "aaaa56789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Name: "/fresh",
		Created: ts(3 * time.Second), Path: "true", State: StateDetails{Status: "created"},
		Config: ConfigDetails{Image: "busybox:latest"},
	}
	return []*Details{old, web, fresh}
}

func TestPs(t *testing.T) {
	tests := []struct {
		name string
		o    PsOptions
		want string
	}{
		{"running only", PsOptions{}, `CONTAINER ID   IMAGE     COMMAND                  CREATED          STATUS                   PORTS                                NAMES
0123456789ab   busybox   "httpd -f -p 8080 -h…"   10 minutes ago   Up 2 minutes (healthy)   443/tcp, 127.0.0.1:18080->8080/tcp   web
`},
		{"all quiet", PsOptions{All: true, Quiet: true}, "aaaa56789abc\n0123456789ab\nfedcba987654\n"},
		{"last", PsOptions{Last: 1, Quiet: true, NoTrunc: true}, "aaaa56789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"},
		{"status filter without -a", PsOptions{Filters: []string{"status=exited"}, Format: "{{.Names}} {{.Status}} {{.Image}}"}, "old Exited (137) 5 seconds ago bbbbbbbbbbbb\n"},
		{"label filter or", PsOptions{All: true, Filters: []string{"label=tier=front", "label=tier=back"}, Format: "{{.Names}}"}, "web\nold\n"},
		{"label and name", PsOptions{All: true, Filters: []string{"label=tier", "name=^ol"}, Format: "{{.Names}}"}, "old\n"},
		{"ancestor", PsOptions{All: true, Filters: []string{"ancestor=busybox"}, Format: "{{.Names}}"}, "fresh\nweb\n"},
		{"id prefix", PsOptions{All: true, Filters: []string{"id=fedc"}, Format: "{{.Names}} {{.State}}"}, "old exited\n"},
		{"table custom", PsOptions{All: true, Format: "table {{.Names}}\t{{.Status}}\t{{.Label \"tier\"}}"}, `NAMES     STATUS                       LABEL
fresh     Created                      
web       Up 2 minutes (healthy)       front
old       Exited (137) 5 seconds ago   back
`},
		{"labels", PsOptions{Format: "{{.Labels}}"}, "app=x,tier=front\n"},
		{"json", PsOptions{Filters: []string{"name=web"}, Format: "json"}, `{"Command":"\"httpd -f -p 8080 -h…\"","CreatedAt":"` + now.Add(-10*time.Minute).Local().Format("2006-01-02 15:04:05 -0700 MST") + `","ID":"0123456789ab","Image":"busybox","Labels":"app=x,tier=front","LocalVolumes":"0","Mounts":"","Names":"web","Networks":"","Ports":"443/tcp, 127.0.0.1:18080-\u003e8080/tcp","RunningFor":"10 minutes ago","Size":"0B","State":"running","Status":"Up 2 minutes (healthy)"}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Ps(&b, sampleContainers(), tt.o, now); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
	for _, bad := range []string{"status=sleeping", "colour=red", "label"} {
		if err := Ps(&bytes.Buffer{}, nil, PsOptions{Filters: []string{bad}}, now); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}

func TestPsSize(t *testing.T) {
	withSizes := func() []*Details {
		list := sampleContainers()
		rw, root := int64(307_200), int64(307_200+3_950_000)
		list[1].SizeRw, list[1].SizeRootFs = &rw, &root // web
		return list
	}
	tests := []struct {
		name string
		list []*Details
		o    PsOptions
		want string
	}{
		{"default table gets SIZE after NAMES", withSizes(), PsOptions{Size: true}, `CONTAINER ID   IMAGE     COMMAND                  CREATED          STATUS                   PORTS                                NAMES     SIZE
0123456789ab   busybox   "httpd -f -p 8080 -h…"   10 minutes ago   Up 2 minutes (healthy)   443/tcp, 127.0.0.1:18080->8080/tcp   web       307kB (virtual 4.26MB)
`},
		{"plain table too", withSizes(), PsOptions{Size: true, Format: "table"}, "SIZE\n"},
		{"template", withSizes(), PsOptions{Format: "{{.Names}}: {{.Size}}"}, "web: 307kB (virtual 4.26MB)\n"},
		{"json", withSizes(), PsOptions{Format: "json", Size: true}, `"Size":"307kB (virtual 4.26MB)"`},
		{"not computed", sampleContainers(), PsOptions{Format: "{{.Size}}"}, "0B\n"},
		{"no virtual without rootfs", func() []*Details {
			l := sampleContainers()
			rw := int64(0)
			l[1].SizeRw = &rw
			return l
		}(), PsOptions{Format: "{{.Size}}"}, "0B\n"},
		{"quiet ignores -s", withSizes(), PsOptions{Size: true, Quiet: true}, "0123456789ab\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Ps(&b, tt.list, tt.o, now); err != nil {
				t.Fatal(err)
			}
			exact := tt.o.Format != "json" && tt.o.Format != "table"
			if exact && b.String() != tt.want || !exact && !strings.Contains(b.String(), tt.want) {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestPsFormatUsesSize(t *testing.T) {
	for format, want := range map[string]bool{
		"": false, "table": false, "json": false, "{{.Names}}": false,
		"{{.Size}}": true, "table {{.Names}}\t{{.Size}}": true, "{{ .Size }}": true,
	} {
		if got := PsFormatUsesSize(format); got != want {
			t.Errorf("PsFormatUsesSize(%q) = %v, want %v", format, got, want)
		}
	}
}

func TestStatusText(t *testing.T) {
	tests := []struct {
		name string
		s    StateDetails
		want string
	}{
		{"up", StateDetails{Status: "running", StartedAt: ts(3 * time.Second)}, "Up 3 seconds"},
		{"starting", StateDetails{Status: "running", StartedAt: ts(time.Second), Health: &HealthDetails{Status: "starting"}}, "Up 1 second (health: starting)"},
		{"unhealthy", StateDetails{Status: "running", StartedAt: ts(time.Hour), Health: &HealthDetails{Status: "unhealthy"}}, "Up About an hour (unhealthy)"},
		{"paused", StateDetails{Status: "paused", StartedAt: ts(time.Minute)}, "Up About a minute (Paused)"},
		{"exited", StateDetails{Status: "exited", ExitCode: 3, FinishedAt: ts(2 * time.Minute)}, "Exited (3) 2 minutes ago"},
		{"restarting", StateDetails{Status: "restarting", ExitCode: 1, FinishedAt: ts(time.Second)}, "Restarting (1) 1 second ago"},
		{"created", StateDetails{Status: "created"}, "Created"},
		{"dead", StateDetails{Status: "dead"}, "Dead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusText(tt.s, now); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The inspect document works with Docker-style templates and as JSON.
func TestInspectDocumentFormats(t *testing.T) {
	d := sampleContainers()[0]
	d.State.OOMKilled = true
	d.HostConfig.Memory = 33554432
	tests := []struct{ format, want string }{
		{"{{.State.OOMKilled}}", "true\n"},
		{"{{.Id}} {{.Name}}", d.ID + " /old\n"},
		{"{{.HostConfig.Memory}}", "33554432\n"},
		{"{{json .Config.Labels}}", `{"tier":"back"}` + "\n"},
		{"{{join .Args \",\"}} {{upper .State.Status}}", "-c,exit 137 EXITED\n"},
		{"{{index .Config.Labels \"tier\"}}", "back\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := format.Inspect(&b, tt.format, []any{d}); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
	var b bytes.Buffer
	if err := format.Inspect(&b, "", []any{d}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "[\n    {\n        \"Id\": \"fedcba") || !strings.Contains(b.String(), `"OOMKilled": true`) {
		t.Errorf("json:\n%s", b.String())
	}
	if err := format.Inspect(&b, "{{.Nope", []any{d}); err == nil {
		t.Error("bad template accepted")
	}
}
