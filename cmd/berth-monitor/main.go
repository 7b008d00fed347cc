// Command berth-monitor is the small per-container monitor berth starts
// when it sits next to the berth binary (see runtime.MonitorCommandFor). It
// serves only berth's re-exec entry points that run once per container:
// "__monitor ID", libcontainer's "init", the "__exited [--remove] ID" hook,
// one healthcheck probe ("__health ID"), and the --init process (as
// /sbin/berth-init: the monitor bind-mounts its own binary there). It links
// neither compose nor cobra, so each of those processes starts faster. Once
// a container runs, its monitor execs berth-monitor-idle (next to this
// binary), which is far smaller, and execs back here when the container
// exits (see runtime/handover.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // cgo: joins namespaces before the Go runtime starts

	_ "github.com/opencontainers/cgroups/devices" // device rules

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/initproc"
	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/runtime"
)

// libcontainer re-execs this binary as "<argv0> init" inside the new
// namespaces; that process becomes the container's process.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.PrepareInit() // the seccomp memo
		libcontainer.Init()
		os.Exit(255) // Init only returns on failure, after reporting it to the parent
	}
}

func main() {
	// Bind-mounted as /sbin/berth-init inside a container (--init), this
	// binary is the container's tiny init, as berth itself would be.
	if filepath.Base(os.Args[0]) == "berth-init" {
		os.Exit(initproc.Main(os.Args[1:]))
	}
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "berth-monitor: %v\n", err)
		os.Exit(1)
	}
}

// args are the parsed command line: [--root R] CMD [--remove] ID.
type args struct {
	root, cmd, id string
	remove        bool
}

func parseArgs(argv []string) (args, error) {
	var a args
	if len(argv) >= 2 && argv[0] == "--root" {
		a.root, argv = argv[1], argv[2:]
	}
	if len(argv) >= 1 {
		a.cmd, argv = argv[0], argv[1:]
	}
	if a.cmd == "__exited" && len(argv) >= 1 && argv[0] == "--remove" {
		a.remove, argv = true, argv[1:]
	}
	if len(argv) != 1 || (a.cmd != "__monitor" && a.cmd != "__exited" && a.cmd != "__health") {
		return a, fmt.Errorf("usage: berth-monitor [--root DIR] __monitor ID | __health ID | __exited [--remove] ID: %w", errdefs.ErrInvalidArgument)
	}
	a.id = argv[0]
	return a, nil
}

func run(ctx context.Context, argv []string) error {
	a, err := parseArgs(argv)
	if err != nil {
		return err
	}
	e, rootFlag, err := newEngine(a.root)
	if err != nil {
		return err
	}
	switch a.cmd {
	case "__monitor":
		return runtime.RunMonitor(ctx, e.Runtime, a.id, monitorHooks(e, rootFlag))
	case "__health":
		return runtime.RunHealthcheck(ctx, e.Runtime, a.id)
	}
	return exited(ctx, e, rootFlag, a.id, a.remove)
}

// monitorHooks are berth's monitor hooks (cmd/berth's monitorHooks), plus
// the "__exited" exit hook run in-process instead of as another process.
func monitorHooks(e *engine.Engine, rootFlag string) runtime.MonitorHooks {
	return runtime.MonitorHooks{
		BeforeStart: func(ctx context.Context, c *runtime.Container) (io.Closer, error) {
			return e.MonitorHooks().BeforeStart(ctx, c)
		},
		OnExit: func(ctx context.Context, c *runtime.Container) bool {
			if !isExitedHook(c.Spec.OnExit, c.ID) {
				return false
			}
			exited(ctx, e, rootFlag, c.ID, false) // as the hook process's, its error has no one to go to
			return true
		},
	}
}

// isExitedHook reports whether argv is berth's "... __exited <id>" hook.
func isExitedHook(argv []string, id string) bool {
	n := len(argv)
	return n >= 2 && argv[n-2] == "__exited" && argv[n-1] == id
}

// exited is cmd/berth's "__exited": network teardown and DNS update once
// the container stopped for good; for a --rm container it starts
// "__exited --remove" in its own session, which removes the container once
// the monitor is gone.
func exited(ctx context.Context, e *engine.Engine, rootFlag, id string, remove bool) error {
	if remove {
		err := e.Remove(ctx, id, engine.RemoveOptions{Force: true, Volumes: true})
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err := e.Exited(ctx, id); err != nil {
		return err
	}
	if !e.AutoRemove(ctx, id) {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	argv := []string{self}
	if rootFlag != "" {
		argv = append(argv, "--root", rootFlag)
	}
	rm := exec.Command(argv[0], append(argv[1:], "__exited", "--remove", id)...)
	rm.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := rm.Start(); err != nil {
		return err
	}
	return rm.Process.Release()
}

// newEngine builds the engine of root the way cmd/berth does, except that
// Self (used to start the DNS server and exit hooks) names the berth binary
// next to this one. It also returns the --root value its children get.
func newEngine(root string) (*engine.Engine, string, error) {
	l := layout.New(root)
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	rootFlag := ""
	if root != "" {
		rootFlag = l.Data
	}
	rt, err := runtime.New(runtime.Options{
		Root:             l.Containers(),
		RunRoot:          l.RunContainers(),
		LibcontainerRoot: l.Libcontainer(),
		MonitorCommand:   runtime.MonitorCommandFor(self, rootFlag),
	})
	if err != nil {
		return nil, "", err
	}
	berth := filepath.Join(filepath.Dir(self), "berth")
	if _, err := os.Stat(berth); err != nil {
		return nil, "", fmt.Errorf("berth binary %q next to the monitor: %w", berth, errors.Join(err, errdefs.ErrFailedPrecondition))
	}
	argv := []string{berth}
	if rootFlag != "" {
		argv = append(argv, "--root", rootFlag)
	}
	e, err := engine.New(engine.Options{Layout: l, Runtime: rt, Self: argv})
	return e, rootFlag, err
}
