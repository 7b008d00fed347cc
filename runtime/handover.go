package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/conmon"
	"github.com/berth/berth/internal/lockfile"
	"github.com/berth/berth/internal/portproxy"
)

// The monitor runs as two binaries in turn, in one process (one pid, so the
// container's init stays its child). The full one (berth-monitor: this
// package, libcontainer, the engine's hooks) starts the container; once it
// has run for handoverDelay it execs the small one (berth-monitor-idle,
// internal/conmon only), handing over by descriptor what it holds: the
// monitor lock, the log, the process's stdio, the attach socket and its
// clients, the published ports. The idle one logs, serves attach and the
// ports, schedules healthchecks (each probe is a short-lived full-monitor
// process: "__health ID"), reaps the init, and execs back into the full one
// with the exit status, which records the exit, applies the restart policy
// (and execs the idle one again after a restart) or ends.
//
// A container with published ports hands over after handoverDelay: until
// then its ports are not served (connections wait in the listen backlog).
// Any other waits quietHandoverDelay, so that a short-lived container (a
// one-off run, a project's init job) never pays the two execs, and the
// monitors of a project being started do not exec while its other
// containers start (up -d of 20 services ~3 % faster, down ~8 %).
const (
	handoverDelay      = 500 * time.Millisecond
	quietHandoverDelay = 2 * time.Second
)

// idleCommand returns the argv that execs the idle monitor (the binary next
// to this one, with this process's arguments, so that it still reads as
// "... --root R __monitor ID"), or nil when there is none.
func idleCommand() []string {
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	idle := Sibling(self, conmon.IdleBinary)
	if idle == "" {
		return nil
	}
	return append([]string{idle}, os.Args[1:]...)
}

// stillRunningAfter reports whether pid (a child) is still running after
// d. It never reaps it: the idle monitor will.
func stillRunningAfter(pid int, d time.Duration) bool {
	exited := make(chan struct{})
	go func() {
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
		close(exited)
	}()
	select {
	case <-exited:
		return false
	case <-time.After(d):
		return true
	}
}

// handover execs the idle monitor for the running process pid. It stops
// every reader first (the output copies, the attach server) so nothing is
// half read. It returns only when the exec failed, with everything serving
// again.
func (mon *monitor) handover(pid int, wg *sync.WaitGroup, ls *loopState) {
	self, err := os.Executable()
	if err != nil {
		return
	}
	h := &conmon.Handover{ID: mon.c.ID, Pid: pid, Big: append([]string{self}, os.Args[1:]...),
		Env: os.Environ(), OpenStdin: mon.c.Spec.Process.OpenStdin, Health: mon.healthPlan(self)}
	if h.Loop, err = json.Marshal(ls); err != nil {
		return
	}
	for _, o := range mon.outputs {
		conmon.StopReading(o.f)
	}
	wg.Wait()
	var attachFDs bool
	err = mon.handoverFiles(h, &attachFDs)
	if err == nil {
		err = conmon.Exec(mon.idle, h.Env, h)
	}
	fmt.Fprintf(os.Stderr, "monitor: hand over to %s: %v\n", mon.idle[0], err)
	mon.idle = nil // stay: serve everything here from now on
	for _, fd := range handedFDs(h) {
		unix.CloseOnExec(fd) // the exit hook must not inherit the monitor lock
	}
	if attachFDs {
		mon.attach.Resume()
	}
	for _, o := range mon.outputs {
		o.f.SetReadDeadline(time.Time{})
		mon.copyOutput(o, wg)
	}
	if mon.ports != nil {
		mon.ports.Serve()
	}
}

// handoverFiles fills h's descriptors. attached is set once the attach
// server stopped (it must be resumed if the exec fails).
func (mon *monitor) handoverFiles(h *conmon.Handover, attached *bool) error {
	var err error
	if h.Lock, err = mon.lock.Inheritable(); err != nil {
		return err
	}
	if h.Log, err = conmon.Inheritable(mon.log.File()); err != nil {
		return err
	}
	for _, o := range mon.outputs {
		fd, err := conmon.Inheritable(o.f)
		if err != nil {
			return err
		}
		switch {
		case o.raw:
			h.Console = fd
		case o.stream == "stdout":
			h.Stdout = fd
		default:
			h.Stderr = fd
		}
	}
	if stdin, _ := mon.stdio.Files(); stdin != nil {
		if h.Stdin, err = conmon.Inheritable(stdin); err != nil {
			return err
		}
	}
	w, ht := mon.stdio.Winsize()
	h.Winsize = [2]int{int(w), int(ht)}
	if mon.ports != nil {
		if h.Ports, err = mon.ports.Files(); err != nil {
			return err
		}
	}
	if mon.attach != nil {
		*attached = true
		if h.Attach, h.Clients, err = mon.attach.Handover(); err != nil {
			return err
		}
	}
	return nil
}

// handedFDs lists the descriptors h hands over.
func handedFDs(h *conmon.Handover) []int {
	fds := append([]int{h.Lock, h.Log, h.Stdout, h.Stderr, h.Console, h.Stdin, h.Attach}, h.Clients...)
	for _, p := range h.Ports {
		fds = append(fds, p.FD)
	}
	return slices.DeleteFunc(fds, func(fd int) bool { return fd <= 0 })
}

// healthPlan is the healthcheck schedule for the idle monitor (nil: none).
func (mon *monitor) healthPlan(self string) *conmon.HealthPlan {
	h := mon.c.Spec.Health
	if h == nil || isHealthNone(h) || len(healthArgs(h.Test)) == 0 {
		return nil
	}
	s := healthSchedule(h)
	args := slices.Clone(os.Args[1:])
	if i := slices.Index(args, "__monitor"); i >= 0 {
		args[i] = "__health"
	}
	next := time.Unix(0, mon.healthNext.Load())
	if mon.healthNext.Load() == 0 {
		next = time.Now().Add(s.interval)
	}
	started := time.Now()
	if c, err := mon.m.load(mon.c.ID); err == nil {
		started = c.State.StartedAt
	}
	return &conmon.HealthPlan{Probe: append([]string{self}, args...), Interval: s.interval,
		StartInterval: s.startInterval, StartPeriod: h.StartPeriod, Timeout: s.timeout,
		Started: started, Next: next}
}

// resumeMonitor is RunMonitor exec'd back from the idle monitor: the
// container's process exited with h.Status and its output was drained.
func resumeMonitor(ctx context.Context, m *Manager, id string, hooks MonitorHooks, h *conmon.Handover) error {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	ml := lockfile.FromFD(h.Lock)
	mon := &monitor{m: m, hooks: hooks, rep: &reporter{}, lock: ml, unlock: func() { ml.Unlock() }, idle: idleCommand(),
		callerRemoves: os.Getenv(callerRemovesEnv) != ""}
	mon.log = conmon.NewLog(conmon.File(h.Log, "log"))
	defer mon.log.Close()
	if h.Attach > 0 {
		if a, err := conmon.ResumeServer(h.Attach, h.Clients, mon.log, &mon.stdio, h.OpenStdin); err == nil {
			mon.attach = a
		}
	}
	if len(h.Ports) > 0 {
		if p, err := portproxy.FromFiles(h.Ports); err == nil {
			mon.closer, mon.ports = p, p
			if mon.idle == nil {
				p.Serve()
			}
		}
	}
	c, err := m.load(id)
	if err != nil { // removed meanwhile: nothing to record
		mon.c = &Container{ID: id}
		mon.cleanup()
		mon.unlock()
		return err
	}
	mon.c = c
	if lc, err := libcontainer.Load(m.opts.LibcontainerRoot, id); err == nil {
		mon.lc = lc
	}
	ls := &loopState{Backoff: 100 * time.Millisecond, Started: time.Now()}
	json.Unmarshal(h.Loop, ls)
	code := 255
	if h.Status != nil {
		ws := syscall.WaitStatus(*h.Status)
		code = ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	code = mon.finishRun(ctx, code)
	mon.loop(ctx, ls, &code)
	mon.end(ctx)
	return nil
}
