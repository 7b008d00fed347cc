package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// Docker's healthcheck defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	defaultStartInterval  = 5 * time.Second
	healthLogEntries      = 5
	healthOutputMax       = 4096
)

func isHealthNone(h *Health) bool { return len(h.Test) == 0 || h.Test[0] == "NONE" }

// healthArgs turns a healthcheck test into argv.
func healthArgs(test []string) []string {
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		if len(test) > 1 {
			return []string{"/bin/sh", "-c", test[1]}
		}
		return nil
	}
	return test
}

// schedule is a healthcheck's timing with Docker's defaults applied.
type schedule struct {
	interval, timeout, startInterval time.Duration
	retries                          int
}

func healthSchedule(h *Health) schedule {
	s := schedule{h.Interval, h.Timeout, h.StartInterval, h.Retries}
	if s.interval <= 0 {
		s.interval = defaultHealthInterval
	}
	if s.timeout <= 0 {
		s.timeout = defaultHealthTimeout
	}
	if s.retries <= 0 {
		s.retries = defaultHealthRetries
	}
	if s.startInterval <= 0 {
		s.startInterval = defaultStartInterval
	}
	return s
}

// healthLoop runs the healthcheck until ctx is done, recording results in
// the state. done is closed when it returns.
func (mon *monitor) healthLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	h := mon.c.Spec.Health
	if h == nil || isHealthNone(h) || len(healthArgs(h.Test)) == 0 {
		return
	}
	s := healthSchedule(h)
	started := time.Now()
	for {
		inStart := time.Since(started) < h.StartPeriod
		wait := s.interval
		if inStart {
			wait = min(s.startInterval, s.interval)
		}
		next := time.Now().Add(wait)
		if prev := mon.healthNext.Load(); prev != 0 && time.Unix(0, prev).After(time.Now()) && time.Unix(0, prev).Before(next) {
			next = time.Unix(0, prev) // resumed after a failed handover: keep the schedule
		}
		mon.healthNext.Store(next.UnixNano())
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		res := probe(ctx, mon.c, mon.lc, mon.m.rootfsDir(mon.c.ID), healthArgs(h.Test), s.timeout)
		reapStrayChildren()
		if ctx.Err() != nil {
			return
		}
		mon.m.recordHealth(ctx, mon.c.ID, res, time.Since(started) < h.StartPeriod, s.retries)
	}
}

// recordHealth adds a probe's result to the container's health state.
func (m *Manager) recordHealth(ctx context.Context, id string, res HealthResult, inStart bool, retries int) {
	m.updateStateVolatile(context.WithoutCancel(ctx), id, func(s *State) {
		if s.Health == nil {
			s.Health = &HealthState{Status: HealthStarting}
		}
		hs := s.Health
		hs.Log = append(hs.Log, res)
		if len(hs.Log) > healthLogEntries {
			hs.Log = hs.Log[len(hs.Log)-healthLogEntries:]
		}
		switch {
		case res.ExitCode == 0:
			hs.Status, hs.FailingStreak = HealthHealthy, 0
		case inStart && hs.Status == HealthStarting:
			// failures during the start period do not count
		default:
			hs.FailingStreak++
			if hs.FailingStreak >= retries {
				hs.Status = HealthUnhealthy
			}
		}
	})
}

// RunHealthcheck runs one probe of container id's healthcheck and records
// it: the body of "__health ID", which the idle monitor starts on its
// schedule (it cannot exec into a container itself). A container that is
// not running is left alone.
func RunHealthcheck(ctx context.Context, m *Manager, id string) error {
	c, err := m.load(id)
	if err != nil {
		return err
	}
	h := c.Spec.Health
	if !c.State.Running() || h == nil || isHealthNone(h) || len(healthArgs(h.Test)) == 0 {
		return nil
	}
	lc, err := libcontainer.Load(m.opts.LibcontainerRoot, id)
	if err != nil {
		return fmt.Errorf("container %s: healthcheck: %w", id, err)
	}
	s := healthSchedule(h)
	res := probe(ctx, c, lc, m.rootfsDir(id), healthArgs(h.Test), s.timeout)
	m.recordHealth(ctx, id, res, time.Since(c.State.StartedAt) < h.StartPeriod, s.retries)
	return nil
}

// reapStrayChildren reaps the monitor's zombie children that nobody waits
// for: nsexec's intermediate "runc:[1:CHILD]" of an exec is created with
// CLONE_PARENT, so it is the monitor's child, and libcontainer reaps it only
// when the exec gets that far. A probe that failed half-way (the container
// dying under it) leaves it a zombie in the container's pid namespace, and
// the container's init cannot finish exiting until it is reaped. Only that
// process name is reaped: every other child is waited for by its owner.
func reapStrayChildren() {
	for _, pid := range childPids() {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ...: comm may hold spaces and parentheses.
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open || end+2 >= len(stat) {
			continue
		}
		if string(stat[open+1:end]) == "runc:[1:CHILD]" && stat[end+2] == 'Z' {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// childPids lists this process's children (each thread's, as the kernel
// keeps them).
func childPids() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// limitedBuffer keeps the first healthOutputMax bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := healthOutputMax - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// probe runs one healthcheck command in the container.
func probe(ctx context.Context, c *Container, lc *libcontainer.Container, rootfs string, args []string, timeout time.Duration) HealthResult {
	res := HealthResult{Start: time.Now().UTC(), ExitCode: -1}
	if lc == nil {
		res.End, res.Output = time.Now().UTC(), "container is not running"
		return res
	}
	p, err := newProcess(c, rootfs, args, c.Spec.Process.Env, c.Spec.Process.Cwd, c.Spec.Process.User, false, false)
	if err != nil {
		res.End, res.Output = time.Now().UTC(), err.Error()
		return res
	}
	var out limitedBuffer
	p.Stdout, p.Stderr = &out, &out
	if err := lc.Run(p); err != nil {
		res.End, res.Output = time.Now().UTC(), err.Error()
		return res
	}
	timer := time.AfterFunc(timeout, func() { p.Signal(unix.SIGKILL) })
	// The container stopping ends the probe at once: its init cannot finish
	// dying while a process of its pid namespace waits to be reaped.
	stop := context.AfterFunc(ctx, func() { p.Signal(unix.SIGKILL) })
	ps, _ := p.Wait()
	stop()
	timedOut := !timer.Stop() && ctx.Err() == nil
	res.End = time.Now().UTC()
	out.mu.Lock()
	res.Output = out.buf.String()
	out.mu.Unlock()
	if timedOut {
		res.Output = "Health check exceeded timeout (" + timeout.String() + ")"
		return res
	}
	res.ExitCode = exitStatus(ps)
	return res
}
