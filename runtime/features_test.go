package runtime

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func TestMountsUlimitsSysctls(t *testing.T) {
	m, layers := newTestManager(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "f"), []byte("from host"), 0o644)
	spec := testSpec(layers, "sh", "-c", `cat /data/f; touch /data/g 2>/dev/null && echo WROTE; echo x > /scratch/y && cat /scratch/y; ulimit -n; cat /proc/sys/net/ipv4/ip_forward`)
	spec.Mounts = []Mount{{Type: "bind", Source: host, Destination: "/data", ReadOnly: true}, {Type: "tmpfs", Destination: "/scratch", Options: []string{"size=1m"}}}
	spec.Ulimits = []Ulimit{{Name: "nofile", Soft: 321, Hard: 321}}
	spec.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	code, out := output(t, m, spec)
	if code != 0 || out != "from hostx\n321\n1\n" {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestJoinNetNS(t *testing.T) {
	m, layers := newTestManager(t)
	name := "bt-" + filepath.Base(t.TempDir())
	name = name[:min(len(name), 14)]
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "netns", "exec", name, "ip", "link", "add", "bt0", "type", "veth", "peer", "name", "bt1").CombinedOutput(); err != nil {
		t.Fatalf("add veth: %v %s", err, out)
	}
	spec := testSpec(layers, "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '")
	spec.NetNSPath = "/run/netns/" + name
	if _, out := output(t, m, spec); out != "bt0 bt1 lo " {
		t.Fatalf("joined netns shows %q", out)
	}
	spec.NetNSPath = ""
	if _, out := output(t, m, spec); out != "lo " {
		t.Fatalf("private netns shows %q", out)
	}
}

func TestBeforeStartHookAndOnExit(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	spec := testSpec(layers, "true")
	spec.Labels = map[string]string{"test.fail": "port 8080 is already in use"}
	c, _ := m.Create(ctx, spec)
	err := m.Start(ctx, c.ID, StartOptions{})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "port 8080 is already in use") {
		t.Fatalf("hook failure: %v", err)
	}
	dir := t.TempDir()
	spec = testSpec(layers, "sh", "-c", "exit 0")
	spec.Labels = map[string]string{"test.closer": filepath.Join(dir, "closer")}
	spec.OnExit = []string{"/bin/sh", "-c", "echo $BERTH_CONTAINER_ID > " + filepath.Join(dir, "onexit")}
	c = run(t, m, spec)
	eventually(t, "monitor exit", func() bool { return !m.monitorAlive(c.ID) })
	if b, _ := os.ReadFile(filepath.Join(dir, "closer")); string(b) != "closed" {
		t.Errorf("hook closer not closed: %q", b)
	}
	// OnExit runs after the monitor released its lock.
	eventually(t, "OnExit", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "onexit"))
		return strings.TrimSpace(string(b)) == c.ID
	})
}

func TestLogsFollowAcrossRestarts(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "echo tick; sleep 0.2; exit 1")
	spec.Restart = RestartPolicy{Name: "on-failure", MaxRetries: 2}
	c := run(t, m, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := m.Logs(ctx, c.ID, LogOptions{Follow: true, Tail: -1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "tick\ntick\ntick\n" {
		t.Fatalf("followed %q", out.String())
	}
}

func TestInit(t *testing.T) {
	self, _ := os.Executable()
	if f, err := elf.Open(self); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				f.Close()
				t.Skip("test binary is dynamically linked; run with -ldflags '-extldflags -static' to test --init")
			}
		}
		f.Close()
	}
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; exit 6")
	spec.Process.Init = true
	code, out := output(t, m, spec)
	if code != 6 || !strings.HasPrefix(out, InitPath+" -- sh -c") {
		t.Fatalf("exit %d, pid 1 %q", code, out)
	}
}

func TestMountRootfsStopped(t *testing.T) {
	m, layers := newTestManager(t)
	c := run(t, m, testSpec(layers, "sh", "-c", "echo data > /created"))
	waitExit(t, m, c.ID)
	eventually(t, "monitor exit", func() bool { return !m.monitorAlive(c.ID) })
	dir, release, err := m.MountRootfs(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "created"))
	if err != nil || string(b) != "data\n" {
		t.Fatalf("merged view: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin/busybox")); err != nil {
		t.Fatal("lower layer missing from merged view")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.UpperDir(c.ID), "created")); err != nil {
		t.Fatal("change not in upper dir")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin")); err == nil {
		t.Fatal("still mounted after release")
	}
}

// TestManyLayers mounts more layers than mount(2)'s one page of options holds.
func TestManyLayers(t *testing.T) {
	m, layers := newTestManager(t)
	base := t.TempDir()
	var many []string
	for i := range 80 {
		d := filepath.Join(base, fmt.Sprintf("layer-with-a-rather-long-name-%03d", i))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), []byte("x"), 0o644)
		many = append(many, d)
	}
	many = append(many, layers...)
	code, out := output(t, m, testSpec(many, "sh", "-c", "ls / | grep -c '^f'"))
	if code != 0 || strings.TrimSpace(out) != "80" {
		t.Fatalf("exit %d, %q files from the upper layers", code, out)
	}
}
