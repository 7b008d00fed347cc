package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	_ "github.com/opencontainers/cgroups/devices"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/initproc"
	"github.com/berth/berth/internal/testutil"
)

// The test binary is also libcontainer's init ("<bin> init") and the
// monitor ("<bin> __test_monitor <root> <runroot> <lcroot> <id>").
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
		os.Exit(255)
	}
}

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "berth-init" {
		os.Exit(initproc.Main(os.Args[1:]))
	}
	if len(os.Args) == 6 && os.Args[1] == "__test_monitor" {
		mgr, err := New(Options{Root: os.Args[2], RunRoot: os.Args[3], LibcontainerRoot: os.Args[4], MonitorCommand: testMonitorCommand(os.Args[2], os.Args[3], os.Args[4])})
		if err == nil {
			err = RunMonitor(context.Background(), mgr, os.Args[5], testHooks)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitor:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testHooks are the monitor hooks of the test monitor, driven by labels:
// "test.fail" fails BeforeStart with that text (ErrConflict), "test.closer"
// names a file the hook's Closer writes "closed" to.
var testHooks = MonitorHooks{BeforeStart: func(ctx context.Context, c *Container) (io.Closer, error) {
	if msg := c.Spec.Labels["test.fail"]; msg != "" {
		return nil, fmt.Errorf("%s: %w", msg, errdefs.ErrConflict)
	}
	if p := c.Spec.Labels["test.closer"]; p != "" {
		return closerFunc(func() error { return os.WriteFile(p, []byte("closed"), 0o644) }), nil
	}
	return nil, nil
}}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func testMonitorCommand(root, run, lc string) func(id string) []string {
	self, _ := os.Executable()
	return func(id string) []string { return []string{self, "__test_monitor", root, run, lc, id} }
}

// newTestManager returns a Manager in a fresh root and the busybox layer.
// Every container left at the end is force-removed.
func newTestManager(t *testing.T) (*Manager, []string) {
	t.Helper()
	testutil.RequiresRoot(t)
	root := testutil.TempRoot(t)
	rootfs := testutil.BusyboxRootfs(t)
	o := Options{
		Root:             filepath.Join(root, "containers"),
		RunRoot:          filepath.Join(root, "run", "containers"),
		LibcontainerRoot: filepath.Join(root, "run", "libcontainer"),
	}
	o.MonitorCommand = testMonitorCommand(o.Root, o.RunRoot, o.LibcontainerRoot)
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs, _ := m.List(context.Background())
		for _, c := range cs {
			if err := m.Remove(context.Background(), c.ID, RemoveOptions{Force: true}); err != nil {
				t.Errorf("cleanup: remove %s: %v", c.Name, err)
			}
		}
	})
	return m, []string{rootfs}
}

// testSpec is a busybox container running args.
func testSpec(layers []string, args ...string) Spec {
	return Spec{Rootfs: RootfsSpec{Layers: layers}, Process: ProcessSpec{Args: args}}
}
