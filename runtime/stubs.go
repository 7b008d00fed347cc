package runtime

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func notYet(what string) error { return fmt.Errorf("runtime: %s: %w", what, errdefs.ErrNotImplemented) }

// Start spawns the container's monitor and returns once the process runs.
func (m *Manager) Start(ctx context.Context, ref string, opts StartOptions) error {
	return notYet("start")
}

// Stop sends the stop signal, then SIGKILL after timeout.
func (m *Manager) Stop(ctx context.Context, ref string, timeout *time.Duration) error {
	return notYet("stop")
}

// Kill sends sig to the container's init.
func (m *Manager) Kill(ctx context.Context, ref string, sig string) error { return notYet("kill") }

// Remove deletes the container.
func (m *Manager) Remove(ctx context.Context, ref string, opts RemoveOptions) error {
	return notYet("remove")
}

// Wait blocks until condition and returns the exit code.
func (m *Manager) Wait(ctx context.Context, ref string, condition string) (int, error) {
	return 0, notYet("wait")
}

// Exec runs a process in a running container.
func (m *Manager) Exec(ctx context.Context, ref string, spec ExecSpec) (int, error) {
	return 0, notYet("exec")
}

// Attach connects to a running container's stdio.
func (m *Manager) Attach(ctx context.Context, ref string, opts AttachOptions) error {
	return notYet("attach")
}

// Logs writes the container's log.
func (m *Manager) Logs(ctx context.Context, ref string, opts LogOptions, stdout, stderr io.Writer) error {
	return notYet("logs")
}

// Top lists the container's pids.
func (m *Manager) Top(ctx context.Context, ref string) ([]int, error) { return nil, notYet("top") }

// Stats reads the container's cgroup usage.
func (m *Manager) Stats(ctx context.Context, ref string) (*Stats, error) {
	return nil, notYet("stats")
}

// Pause freezes the container.
func (m *Manager) Pause(ctx context.Context, ref string) error { return notYet("pause") }

// Unpause thaws the container.
func (m *Manager) Unpause(ctx context.Context, ref string) error { return notYet("unpause") }

// MountRootfs returns the merged rootfs of the container.
func (m *Manager) MountRootfs(ctx context.Context, ref string) (string, func() error, error) {
	return "", nil, notYet("mount rootfs")
}

// RunMonitor is the body of the monitor process of container id.
func RunMonitor(ctx context.Context, m *Manager, id string, hooks MonitorHooks) error {
	return notYet("monitor")
}

// MonitorCommandFor returns the Options.MonitorCommand berth uses:
// "<selfExe> [--root rootFlag] __monitor <id>".
func MonitorCommandFor(selfExe, rootFlag string) func(id string) []string {
	return func(id string) []string {
		args := []string{selfExe}
		if rootFlag != "" {
			args = append(args, "--root", rootFlag)
		}
		return append(args, "__monitor", id)
	}
}
