package enginebackend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/engine"
)

func TestConfig(t *testing.T) {
	bind := filepath.Join(t.TempDir(), "made", "by", "up")
	grace := 5 * time.Second
	mode := uint32(0o1777)
	spec := compose.ContainerSpec{
		Name: "demo-web-1", Project: "demo", Service: "web", Number: 1,
		Image: "busybox", ImageID: "sha256:abc",
		Command: []string{"httpd", "-f"}, Entrypoint: []string{},
		Env:    []string{"A=1"},
		Labels: map[string]string{compose.LabelProject: "demo"},
		Ports: []compose.Port{{HostIP: "127.0.0.1", Published: "8080", Target: 80, Protocol: "tcp"},
			{Target: 53, Protocol: "udp"}, {Published: "9000-9001", Target: 9000}},
		Mounts: []compose.Mount{
			{Type: compose.MountVolume, Source: "demo_data", Target: "/data", NoCopy: true},
			{Type: compose.MountBind, Source: bind, Target: "/src", ReadOnly: true, CreateHostPath: true},
			{Type: compose.MountTmpfs, Target: "/tmp", TmpfsSize: 1 << 20, TmpfsMode: mode},
		},
		Files:       []compose.FileMount{{Source: "/data/secrets/token", Target: "/run/secrets/token"}},
		Networks:    []compose.SpecNetwork{{Name: "demo_default", Aliases: []string{"web", "www"}, IPv4Address: "172.30.0.9"}},
		Healthcheck: &compose.Healthcheck{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 3},
		Restart:     "on-failure:3",
		SecurityOpt: []string{"no-new-privileges:true"},
		Resources:   compose.Resources{Memory: 64 << 20, NanoCPUs: 5e8, Pids: 100},
		Ulimits:     []compose.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
		StopTimeout: &grace, StopSignal: "SIGINT", Init: true,
	}
	c, err := Config(spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Image != "busybox" || c.Name != "demo-web-1" || c.Hostname != "demo-web-1" {
		t.Errorf("identity: %q %q %q", c.Image, c.Name, c.Hostname)
	}
	if !c.EntrypointSet || len(c.Entrypoint) != 0 || !reflect.DeepEqual(c.Cmd, []string{"httpd", "-f"}) {
		t.Errorf("entrypoint %v (set %v) cmd %v", c.Entrypoint, c.EntrypointSet, c.Cmd)
	}
	if got := strings.Join(c.Ports, " "); got != "127.0.0.1:8080:80 53/udp 9000-9001:9000" {
		t.Errorf("ports %q", got)
	}
	wantMounts := []engine.Mount{
		{Type: "volume", Source: "demo_data", Target: "/data", NoCopy: true},
		{Type: "bind", Source: bind, Target: "/src", ReadOnly: true},
		{Type: "tmpfs", Target: "/tmp", Options: []string{"size=1048576", "mode=1777"}},
		{Type: "bind", Source: "/data/secrets/token", Target: "/run/secrets/token", ReadOnly: true},
	}
	if !reflect.DeepEqual(c.Mounts, wantMounts) {
		t.Errorf("mounts:\n%+v\nwant\n%+v", c.Mounts, wantMounts)
	}
	if st, err := os.Stat(bind); err != nil || !st.IsDir() {
		t.Errorf("bind source not created: %v", err)
	}
	if len(c.Networks) != 1 || c.Networks[0].IP != "172.30.0.9" || strings.Join(c.Networks[0].Aliases, ",") != "web,www" {
		t.Errorf("networks %+v", c.Networks)
	}
	if c.Restart.Name != "on-failure" || c.Restart.MaxRetries != 3 || !c.NoNewPrivileges {
		t.Errorf("restart %+v nnp %v", c.Restart, c.NoNewPrivileges)
	}
	if c.Health == nil || c.Health.Retries != 3 || c.StopTimeout == nil || *c.StopTimeout != 5 {
		t.Errorf("health %+v stop %v", c.Health, c.StopTimeout)
	}
	if c.Resources.Memory != 64<<20 || c.Resources.PidsLimit != 100 || len(c.Ulimits) != 1 || !c.Init {
		t.Errorf("resources %+v ulimits %+v init %v", c.Resources, c.Ulimits, c.Init)
	}

	spec.Healthcheck = &compose.Healthcheck{Disable: true}
	spec.Entrypoint = nil
	if c, _ = Config(spec); c.Health.Test[0] != "NONE" || c.EntrypointSet {
		t.Errorf("disabled healthcheck %v, entrypoint set %v", c.Health.Test, c.EntrypointSet)
	}
	spec.Pid, spec.Ipc = "host", "container:proj-app-1"
	if c, err := Config(spec); err != nil || c.PID != "host" || c.IPC != "container:proj-app-1" {
		t.Errorf("pid/ipc modes: %q %q, %v", c.PID, c.IPC, err)
	}
}
