package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// pollInterval is the longest a wait sleeps between reads of a container's
// state; waits start polling at 1 ms and back off to it.
const pollInterval = 20 * time.Millisecond

// poller sleeps between polls: 1 ms at first, doubling up to pollInterval.
type poller struct{ d time.Duration }

// wait sleeps the next interval or returns ctx's error.
func (p *poller) wait(ctx context.Context) error {
	if p.d == 0 {
		p.d = time.Millisecond
	}
	t := time.NewTimer(p.d)
	defer t.Stop()
	p.d = min(p.d*2, pollInterval)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stop sends the container's stop signal (Spec.StopSignal, default SIGTERM)
// to its init and SIGKILL once timeout passed (nil: Spec.StopTimeout, else
// 10 s; negative: wait for ever). The restart policy does not apply to a
// stopped container. Stopping a stopped container does nothing.
func (m *Manager) Stop(ctx context.Context, ref string, timeout *time.Duration) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	if !c.State.Running() {
		if c.State.Error == "monitor died" {
			m.killOrphan(c.ID)
		}
		return nil
	}
	d := 10 * time.Second
	switch {
	case timeout != nil:
		d = *timeout
	case c.Spec.StopTimeout != nil:
		d = time.Duration(*c.Spec.StopTimeout) * time.Second
	}
	sig := syscall.SIGTERM
	if c.Spec.StopSignal != "" {
		if sig, err = ParseSignal(c.Spec.StopSignal); err != nil {
			return err
		}
	}
	st, err := m.updateState(ctx, c.ID, func(s *State) { s.StoppedByUser = true })
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	if st.Status == StatusPaused {
		m.thaw(c.ID)
	}
	if st.Pid > 0 && d != 0 {
		unix.Kill(st.Pid, sig)
		if d > 0 {
			wctx, cancel := context.WithTimeout(ctx, d)
			err = m.waitNotRunning(wctx, c.ID)
			cancel()
		} else {
			err = m.waitNotRunning(ctx, c.ID)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return m.killAndWait(ctx, c.ID)
}

// killAndWait SIGKILLs the container's processes and waits until its state
// is not running.
func (m *Manager) killAndWait(ctx context.Context, id string) error {
	if c, err := m.load(id); err == nil && c.State.Pid > 0 {
		unix.Kill(c.State.Pid, unix.SIGKILL)
	}
	if lc, err := libcontainer.Load(m.opts.LibcontainerRoot, id); err == nil {
		lc.Signal(unix.SIGKILL)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.waitNotRunning(wctx, id); err != nil {
		return fmt.Errorf("container %s: still running after SIGKILL: %w", id, errdefs.ErrUnavailable)
	}
	return nil
}

// waitNotRunning polls until the container is not running (or its monitor died).
func (m *Manager) waitNotRunning(ctx context.Context, id string) error {
	var p poller
	for {
		c, err := m.load(id)
		if errdefs.IsNotFound(err) {
			return nil // removed (--rm) as soon as it stopped
		}
		if err != nil {
			return err
		}
		m.checkMonitor(c)
		if !c.State.Running() {
			return nil
		}
		if err := p.wait(ctx); err != nil {
			return err
		}
	}
}

// Kill sends sig (default SIGKILL) to the container's init. SIGKILL and the
// container's stop signal count as a user stop for the restart policy.
func (m *Manager) Kill(ctx context.Context, ref string, sig string) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	if sig == "" {
		sig = "KILL"
	}
	s, err := ParseSignal(sig)
	if err != nil {
		return err
	}
	if !c.State.Running() || c.State.Pid == 0 {
		return fmt.Errorf("container %s is not running: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	stop := syscall.SIGTERM
	if c.Spec.StopSignal != "" {
		stop, _ = ParseSignal(c.Spec.StopSignal)
	}
	if s == unix.SIGKILL || s == stop {
		if _, err := m.updateState(ctx, c.ID, func(st *State) { st.StoppedByUser = true }); err != nil {
			return err
		}
	}
	if err := unix.Kill(c.State.Pid, s); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("container %s: kill: %w", c.Name, err)
	}
	return nil
}

// Remove deletes a container: its libcontainer state, cgroups, rootfs
// mount, run dir and data dir. A running container is refused unless
// Force, which kills it first. Remove also cleans up after a dead monitor,
// and finishes an interrupted Remove.
func (m *Manager) Remove(ctx context.Context, ref string, opts RemoveOptions) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if !opts.Force {
			return fmt.Errorf("cannot remove container %q: container is running: stop the container before removing or force remove: %w", "/"+c.Name, errdefs.ErrFailedPrecondition)
		}
		m.updateState(ctx, c.ID, func(s *State) { s.StoppedByUser = true })
		if c.State.Status == StatusPaused {
			m.thaw(c.ID)
		}
		if err := m.killAndWait(ctx, c.ID); err != nil {
			return err
		}
	}
	m.killOrphan(c.ID)
	// Let the monitor finish its own clean-up: it holds its lock until
	// then, and the kernel wakes this wait as soon as it lets go.
	if m.monitorAlive(c.ID) {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if h, err := lockfile.Lock(wctx, m.monitorLockPath(c.ID)); err == nil {
			h.Unlock()
		}
		cancel()
	}
	lcGone := make(chan struct{})
	go func() { os.RemoveAll(m.lcDir(c.ID)); close(lcGone) }() // its errors do not matter
	defer func() { <-lcGone }()
	if err := m.unmountRootfs(c.ID); err != nil {
		return err
	}
	if err := os.RemoveAll(m.runDir(c.ID)); err != nil {
		return fmt.Errorf("container %s: remove run dir: %w", c.Name, err)
	}
	// Out of sight first, then deleted: a reader sees the whole container
	// or none of it, never a config without its state (which reads as a
	// fresh "created" container with exit code 0). A removal interrupted
	// after the rename leaves only a dot-directory, which listings ignore
	// and the next Remove of any container deletes.
	gone := filepath.Join(m.opts.Root, removedPrefix+c.ID)
	if err := os.Rename(m.dir(c.ID), gone); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s: remove: %w", c.Name, err)
	}
	// The directory is out of sight: its name goes while it is deleted.
	removed := make(chan error, 1)
	go func() { removed <- removeAllParallel(gone) }()
	m.releaseName(ctx, c.Name, c.ID)
	if err := <-removed; err != nil {
		return fmt.Errorf("container %s: remove: %w", c.Name, err)
	}
	m.removeLeftovers()
	return nil
}

// removeAllParallel is os.RemoveAll that deletes the entries of dir
// concurrently, each with its subtree: on a filesystem that discards freed
// blocks synchronously (ext4 with -o discard and no journal) each freed
// block waits for the device, and a container directory frees a dozen.
func removeAllParallel(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	errs := make([]error, len(ents))
	var wg sync.WaitGroup
	for i, e := range ents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = os.RemoveAll(filepath.Join(dir, e.Name()))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// removedPrefix names a container directory that is being deleted.
const removedPrefix = ".removed-"

// removeLeftovers deletes what interrupted removals left behind.
func (m *Manager) removeLeftovers() {
	ents, _ := os.ReadDir(m.opts.Root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), removedPrefix) {
			os.RemoveAll(filepath.Join(m.opts.Root, e.Name()))
		}
	}
}

// killOrphan kills and destroys what a dead monitor left running.
func (m *Manager) killOrphan(id string) {
	if lc, err := libcontainer.Load(m.opts.LibcontainerRoot, id); err == nil {
		lc.Signal(unix.SIGKILL)
		lc.Destroy()
	}
	m.removeCgroups(id)
}

func (m *Manager) lcDir(id string) string { return m.opts.LibcontainerRoot + "/" + id }

// Wait blocks until the container meets condition and returns its exit
// code: "not-running" (default), "next-exit" (the next exit after now) or
// "removed".
func (m *Manager) Wait(ctx context.Context, ref string, condition string) (int, error) {
	c, err := m.Get(ctx, ref)
	if err != nil {
		if code, ok := m.exits.Load(ref); ok && errdefs.IsNotFound(err) && condition != "next-exit" {
			return code.(int), nil // removed after an attached Start saw it exit
		}
		return -1, err
	}
	var p poller
	last := c // next-exit: an exit after this state
	for {
		switch condition {
		case "", "not-running":
			if !c.State.Running() {
				return c.State.ExitCode, nil
			}
		case "next-exit":
			if !c.State.FinishedAt.Equal(last.State.FinishedAt) && c.State.Status != StatusRunning {
				return c.State.ExitCode, nil
			}
		case "removed":
		default:
			return -1, fmt.Errorf("invalid wait condition %q: use not-running, next-exit or removed: %w", condition, errdefs.ErrInvalidArgument)
		}
		if err := p.wait(ctx); err != nil {
			return -1, err
		}
		cur, err := m.load(c.ID)
		if errdefs.IsNotFound(err) {
			if condition == "removed" {
				return c.State.ExitCode, nil
			}
			return -1, err
		}
		if err != nil {
			return -1, err
		}
		m.checkMonitor(cur)
		c = cur
	}
}

// running loads the libcontainer container of a running container.
func (m *Manager) running(ctx context.Context, ref string) (*Container, *libcontainer.Container, error) {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if !c.State.Running() {
		return nil, nil, fmt.Errorf("container %s is not running: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	lc, err := libcontainer.Load(m.opts.LibcontainerRoot, c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("container %s is not running: %v: %w", c.Name, err, errdefs.ErrFailedPrecondition)
	}
	return c, lc, nil
}

// Top lists the host pids of the container's processes.
func (m *Manager) Top(ctx context.Context, ref string) ([]int, error) {
	c, lc, err := m.running(ctx, ref)
	if err != nil {
		return nil, err
	}
	pids, err := lc.Processes()
	if err != nil {
		return nil, fmt.Errorf("container %s: list processes: %w", c.Name, err)
	}
	return pids, nil
}

// Stats reads the container's resource usage from its cgroups.
func (m *Manager) Stats(ctx context.Context, ref string) (*Stats, error) {
	c, lc, err := m.running(ctx, ref)
	if err != nil {
		return nil, err
	}
	st, err := lc.Stats()
	if err != nil || st.CgroupStats == nil {
		return nil, fmt.Errorf("container %s: stats: %v: %w", c.Name, err, errdefs.ErrUnavailable)
	}
	cs := st.CgroupStats
	out := &Stats{Read: time.Now().UTC(), CPUNanos: cs.CpuStats.CpuUsage.TotalUsage,
		MemoryUsage: cs.MemoryStats.Usage.Usage, MemoryLimit: cs.MemoryStats.Usage.Limit, Pids: cs.PidsStats.Current}
	return out, nil
}

// Pause freezes the container's processes.
func (m *Manager) Pause(ctx context.Context, ref string) error {
	c, lc, err := m.running(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Status == StatusPaused {
		return fmt.Errorf("container %s is already paused: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	if err := lc.Pause(); err != nil {
		return fmt.Errorf("container %s: pause: %w", c.Name, err)
	}
	_, err = m.updateState(ctx, c.ID, func(s *State) {
		if s.Status == StatusRunning {
			s.Status = StatusPaused
		}
	})
	return err
}

// Unpause thaws a paused container.
func (m *Manager) Unpause(ctx context.Context, ref string) error {
	c, lc, err := m.running(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Status != StatusPaused {
		return fmt.Errorf("container %s is not paused: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	if err := lc.Resume(); err != nil {
		return fmt.Errorf("container %s: unpause: %w", c.Name, err)
	}
	_, err = m.updateState(ctx, c.ID, func(s *State) {
		if s.Status == StatusPaused {
			s.Status = StatusRunning
		}
	})
	return err
}

// thaw resumes a frozen container so signals reach it.
func (m *Manager) thaw(id string) {
	if lc, err := libcontainer.Load(m.opts.LibcontainerRoot, id); err == nil {
		lc.Resume()
	}
}
