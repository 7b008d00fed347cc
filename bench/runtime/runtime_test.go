package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	_ "github.com/opencontainers/cgroups/devices"

	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/runtime"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
		os.Exit(255)
	}
}

func TestMain(m *testing.M) {
	// "<bin> --root R __monitor <id>", the shape MonitorCommandFor makes.
	if len(os.Args) == 5 && os.Args[3] == "__monitor" {
		mgr, err := newManager(os.Args[2])
		if err == nil {
			err = runtime.RunMonitor(context.Background(), mgr, os.Args[4], runtime.MonitorHooks{})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newManager(root string) (*runtime.Manager, error) {
	l := layout.New(root)
	self, _ := os.Executable()
	if b := os.Getenv("BERTH_BIN"); b != "" {
		self = b
	}
	return runtime.New(runtime.Options{Root: l.Containers(), RunRoot: l.RunContainers(),
		LibcontainerRoot: l.Libcontainer(), MonitorCommand: runtime.MonitorCommandFor(self, l.Data)})
}

func setup(b *testing.B) (*runtime.Manager, []string) {
	testutil.RequiresRoot(b)
	root := testutil.TempRoot(b)
	rootfs := testutil.BusyboxRootfs(b)
	m, err := newManager(root)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cs, _ := m.List(context.Background())
		for _, c := range cs {
			m.Remove(context.Background(), c.ID, runtime.RemoveOptions{Force: true})
		}
	})
	return m, []string{rootfs}
}

// BenchmarkRunTrue is create + start + wait + remove of /bin/true, with
// Docker's default seccomp profile and without (runc's default spec has none).
func BenchmarkRunTrue(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchRun(b, "") })
	b.Run("unconfined", func(b *testing.B) { benchRun(b, "unconfined") })
}

func benchRun(b *testing.B, seccomp string) {
	m, layers := setup(b)
	ctx := context.Background()
	spec := runtime.Spec{Rootfs: runtime.RootfsSpec{Layers: layers}, Process: runtime.ProcessSpec{Args: []string{"/bin/true"}}}
	spec.Security.Seccomp = seccomp
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := m.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Start(ctx, c.ID, runtime.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		if code, err := m.Wait(ctx, c.ID, ""); err != nil || code != 0 {
			b.Fatal(code, err)
		}
		if err := m.Remove(ctx, c.ID, runtime.RemoveOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMonitorRSS starts 5 sleeping containers and reports the median
// VmRSS of their monitors (kB).
func BenchmarkMonitorRSS(b *testing.B) {
	m, layers := setup(b)
	ctx := context.Background()
	spec := runtime.Spec{Rootfs: runtime.RootfsSpec{Layers: layers}, Process: runtime.ProcessSpec{Args: []string{"sleep", "300"}}}
	var rss []int
	for i := 0; i < 5; i++ {
		c, err := m.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Start(ctx, c.ID, runtime.StartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(time.Second) // let the monitors settle
	cs, _ := m.List(ctx)
	for _, c := range cs {
		rss = append(rss, vmRSS(c.State.MonitorPid))
	}
	sort.Ints(rss)
	b.ReportMetric(float64(rss[len(rss)/2]), "monitor-RSS-kB")
	for i := 0; i < b.N; i++ {
	}
}

func vmRSS(pid int) int {
	data, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
