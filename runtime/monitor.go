package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/conmon"
	"github.com/berth/berth/internal/lockfile"
	"github.com/berth/berth/internal/portproxy"
)

// monitor is the state of one monitor process.
type monitor struct {
	m       *Manager
	c       *Container
	hooks   MonitorHooks
	rep     *reporter
	log     *conmon.Log
	attach  *conmon.Server
	lc      *libcontainer.Container
	process *libcontainer.Process
	stdio   conmon.Stdio // stdin pipe or pty master, window size
	// outputs are the process's output pipes (or pty master) being logged.
	outputs []outStream
	// lock is the monitor lock; unlock releases it: the container is then
	// stopped for good and cleaned up, as far as Get, Remove and Logs are
	// concerned.
	lock   *lockfile.Handle
	unlock func()
	// closer is BeforeStart's (the published ports), closed at the end;
	// ports is the same when it can serve and hand over its sockets.
	closer io.Closer
	ports  portServer
	// idle is the argv that execs the idle monitor binary (nil: stay).
	idle []string
	// callerRemoves: the CLI that started the container attached removes
	// it once it stopped, so the exit hook is not run
	// (StartOptions.CallerRemoves); unless that CLI was no longer attached
	// to get the exit code (it detached, or died).
	callerRemoves bool
	// consoleSock receives the pty master from libcontainer.
	consoleSock *os.File
	// healthNext is when the health loop's next probe is due (unix nanos).
	healthNext atomic.Int64
}

// outStream is one stream of the process being copied to the log.
type outStream struct {
	stream string
	f      *os.File
	raw    bool // a terminal: copied as it comes, not by lines
}

// portServer is what BeforeStart's Closer offers when it holds published
// ports (engine's, over portproxy.Proxy): serving, and handing the sockets
// over to the idle monitor.
type portServer interface {
	Serve()
	Files() ([]portproxy.File, error)
}

// RunMonitor is the body of the monitor process of container id (started by
// Start through Options.MonitorCommand): it creates the libcontainer
// container, runs its process as a child, logs its output, records its exit,
// applies the restart policy and the healthcheck, and returns once the
// container stopped for good. BeforeStart is called once, before the first
// start; its Closer is closed at the end.
func RunMonitor(ctx context.Context, m *Manager, id string, hooks MonitorHooks) error {
	ctx = context.WithoutCancel(ctx) // a monitor outlives signals meant for the CLI
	if h, err := conmon.TakeHandover(); h != nil || err != nil {
		if err != nil {
			return err
		}
		return resumeMonitor(ctx, m, id, hooks, h)
	}
	WarmCgroupAttach()
	rep := newReporter()
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	ml, err := lockMonitor(m.monitorLockPath(id))
	if err != nil {
		rep.failed(err)
		return err
	}
	defer ml.Unlock()
	c, err := m.load(id)
	if err != nil {
		rep.failed(err)
		return err
	}
	mon := &monitor{m: m, c: c, hooks: hooks, rep: rep, lock: ml, unlock: func() { ml.Unlock() }, idle: idleCommand(),
		callerRemoves: os.Getenv(callerRemovesEnv) != ""}
	return mon.run(ctx)
}

func (mon *monitor) run(ctx context.Context) error {
	c := mon.c
	var err error
	if mon.log, err = conmon.OpenLog(mon.m.LogPath(c.ID)); err != nil {
		return mon.failStart(ctx, err)
	}
	defer mon.log.Close()
	waitAttach := os.Getenv(waitAttachEnv) != ""
	if ln, err := conmon.Listen(mon.m.AttachSocket(c.ID)); err != nil {
		if waitAttach || c.Spec.Process.OpenStdin || c.Spec.Process.Terminal {
			return mon.failStart(ctx, err)
		}
	} else {
		mon.attach = conmon.NewServer(ln, nil, mon.log, &mon.stdio, c.Spec.Process.OpenStdin)
		defer mon.attach.Close()
	}
	if waitAttach {
		os.Unsetenv(waitAttachEnv)
		mon.rep.send("listening")
		mon.attach.WaitClient(30 * time.Second)
	}
	if mon.hooks.BeforeStart != nil {
		if mon.closer, err = mon.hooks.BeforeStart(ctx, c); err != nil {
			return mon.failStart(ctx, err)
		}
	}
	if ps, ok := mon.closer.(portServer); ok {
		mon.ports = ps
		if mon.idle == nil {
			ps.Serve()
		} // else the idle monitor serves them: connections wait in the backlog till then
	}
	mon.loop(ctx, &loopState{Backoff: 100 * time.Millisecond}, nil)
	mon.end(ctx)
	return nil
}

// end releases what the monitor holds once the container stopped for
// good, then runs the exit hook.
func (mon *monitor) end(ctx context.Context) {
	mon.cleanup()
	if mon.closer != nil {
		mon.closer.Close()
	}
	if mon.attach != nil {
		mon.attach.Close()
	}
	mon.unlock()
	mon.runOnExit(ctx)
}

// failStart records a failed first start, reports it, cleans up.
func (mon *monitor) failStart(ctx context.Context, err error) error {
	mon.m.updateState(ctx, mon.c.ID, func(s *State) {
		s.Status = StatusExited
		s.Error = err.Error()
		s.Pid = 0
		s.ExitCode = exitCodeOf(err)
		s.FinishedAt = time.Now().UTC()
	})
	mon.rep.failed(err)
	mon.cleanup()
	return err
}

func exitCodeOf(err error) int {
	switch {
	case errors.Is(err, ErrCommandNotFound):
		return 127
	case errors.Is(err, ErrNotExecutable):
		return 126
	}
	return 128
}

// loopState is the restart loop's state, kept across the monitor's execs.
type loopState struct {
	Backoff time.Duration `json:"backoff"`
	Started time.Time     `json:"started"` // the current run's start
}

// loop runs the process and restarts it as the policy says. With exited
// set, the monitor was exec'd back from the idle one: the current run
// ended with that code, already recorded.
func (mon *monitor) loop(ctx context.Context, ls *loopState, exited *int) {
	for first := exited == nil; ; first = false {
		var code int
		var err error
		if exited != nil {
			code, exited = *exited, nil
		} else {
			ls.Started = time.Now()
			code, err = mon.runOnce(ctx, first, ls)
		}
		if err != nil && first {
			mon.failStart(ctx, err)
			return
		}
		if err != nil { // a restart failed: record it, the policy decides
			mon.m.updateState(ctx, mon.c.ID, func(s *State) {
				s.Status, s.Pid, s.ExitCode, s.Error = StatusExited, 0, code, err.Error()
				s.FinishedAt = time.Now().UTC()
			})
		}
		cur, err := mon.m.load(mon.c.ID)
		if err != nil || !shouldRestart(mon.c.Spec.Restart, code, cur.State) {
			return
		}
		if time.Since(ls.Started) >= 10*time.Second {
			ls.Backoff = 100 * time.Millisecond
		}
		mon.m.updateState(ctx, mon.c.ID, func(s *State) {
			s.Status = StatusRestarting
			s.RestartCount++
		})
		if !mon.sleepUnlessStopped(ctx, ls.Backoff) {
			mon.m.updateState(ctx, mon.c.ID, func(s *State) { s.Status = StatusExited })
			return
		}
		ls.Backoff = min(ls.Backoff*2, time.Minute)
	}
}

// shouldRestart applies Docker's restart policies to an exit.
func shouldRestart(p RestartPolicy, code int, st State) bool {
	if st.StoppedByUser {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaxRetries <= 0 || st.RestartCount < p.MaxRetries)
	}
	return false
}

// sleepUnlessStopped waits d, returning false early when a user stops the
// container meanwhile.
func (mon *monitor) sleepUnlessStopped(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		st, err := mon.m.load(mon.c.ID)
		if err != nil || st.State.StoppedByUser {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		time.Sleep(min(left, 50*time.Millisecond))
	}
}

// runOnce starts the process once and waits for it; it returns the exit
// code, or an error when the process could not start.
func (mon *monitor) runOnce(ctx context.Context, first bool, ls *loopState) (int, error) {
	c, m := mon.c, mon.m
	p, err := mon.prepare(ctx)
	if err != nil {
		return exitCodeOf(err), err
	}
	var wg sync.WaitGroup
	closeAfterStart, err := mon.wireStdio(p, &wg)
	if err != nil {
		mon.destroy()
		return 128, err
	}
	cg, err := lockfile.RLock(ctx, m.cgroupLockPath())
	if err == nil {
		err = mon.lc.Run(p)
		cg.Unlock()
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	if err == nil && c.Spec.Process.Terminal {
		err = mon.recvConsole(p, &wg)
	}
	if err != nil {
		p.Signal(unix.SIGKILL)
		wg.Wait()
		mon.destroy()
		return 128, classifyStartError(c, err)
	}
	mon.process = p
	pid, _ := p.Pid()
	waitExecd(pid)
	m.updateStateVolatile(ctx, c.ID, func(s *State) {
		s.Status, s.Pid, s.MonitorPid = StatusRunning, pid, os.Getpid()
		s.StartedAt, s.ExitCode, s.Error, s.OOMKilled = time.Now().UTC(), 0, "", false
		if first {
			s.StoppedByUser = false // a Stop during a restart still holds
		}
		if c.Spec.Health != nil && !isHealthNone(c.Spec.Health) {
			s.Health = &HealthState{Status: HealthStarting}
		}
	})
	if first {
		mon.rep.started(pid)
	}
	// The exec into the idle monitor replaces this address space: trimming it
	// first would only cost CPU while other containers start.
	stopTrims := func() {}
	if mon.idle == nil {
		stopTrims = trimMemoryOverTime()
	}
	mon.healthNext.Store(0)
	hctx, stopHealth := context.WithCancel(ctx)
	healthDone := make(chan struct{})
	go mon.healthLoop(hctx, healthDone)
	delay := quietHandoverDelay
	if mon.ports != nil {
		delay = handoverDelay
	}
	if mon.idle != nil && stillRunningAfter(pid, delay) {
		stopTrims()
		stopHealth()
		<-healthDone
		mon.handover(pid, &wg, ls) // returns only when the exec failed
		stopTrims = trimMemoryOverTime()
		hctx, stopHealth = context.WithCancel(ctx)
		healthDone = make(chan struct{})
		go mon.healthLoop(hctx, healthDone)
	}
	ps, _ := p.Wait()
	stopTrims()
	stopHealth()
	<-healthDone
	wg.Wait()
	mon.stdio.Close()
	return mon.finishRun(ctx, exitStatus(ps)), nil
}

// finishRun records the end of a run whose process exited with code (its
// output drained) and tells the attach clients.
func (mon *monitor) finishRun(ctx context.Context, code int) int {
	oom := mon.oomKilled()
	mon.destroy()
	// A container its caller removes next (run --rm, so AutoRemove as
	// well) needs no durable record of its exit: the code travels in the
	// attach session.
	update := mon.m.updateState
	if mon.callerRemoves {
		update = mon.m.updateStateVolatile
	}
	update(ctx, mon.c.ID, func(s *State) {
		s.Status, s.Pid, s.ExitCode, s.OOMKilled = StatusExited, 0, code, oom
		s.FinishedAt = time.Now().UTC()
	})
	if mon.attach != nil {
		if mon.attach.EndRun(code) == 0 {
			mon.callerRemoves = false // it detached or died: it will not remove
		}
	} else {
		mon.callerRemoves = false
	}
	return code
}

// prepare mounts the rootfs, creates the libcontainer container and builds
// the process.
func (mon *monitor) prepare(ctx context.Context) (*libcontainer.Process, error) {
	c, m := mon.c, mon.m
	rootfs, err := m.mountRootfs(c)
	if err != nil {
		return nil, err
	}
	shared, err := m.sharedNamespaces(ctx, c)
	if err != nil {
		return nil, err
	}
	cfg, err := libcontainerConfig(shared, rootfs)
	if err != nil {
		return nil, err
	}
	p, err := newProcess(c, rootfs, c.Spec.Process.Args, c.Spec.Process.Env, c.Spec.Process.Cwd,
		c.Spec.Process.User, c.Spec.Process.Terminal, true)
	if err != nil {
		return nil, err
	}
	if p.Rlimits, _, err = rlimits(c.Spec.Ulimits); err != nil {
		return nil, err
	}
	if old, err := libcontainer.Load(m.opts.LibcontainerRoot, c.ID); err == nil {
		old.Signal(unix.SIGKILL)
		old.Destroy()
	}
	if mon.lc, err = libcontainer.Create(m.opts.LibcontainerRoot, c.ID, cfg); err != nil {
		return nil, fmt.Errorf("container %s: create: %w", c.ID, err)
	}
	return p, nil
}

// newProcess builds a process of c (the init when init is true).
func newProcess(c *Container, rootfs string, args, env []string, cwd, usr string, tty, init bool) (*libcontainer.Process, error) {
	if cwd == "" {
		cwd = "/"
	}
	eu, err := resolveUser(rootfs, usr, c.Spec.Process.GroupAdd)
	if err != nil {
		return nil, err
	}
	env = buildEnv(env, hostnameEnv(c), eu.Home, tty)
	if err := ensureCwd(rootfs, cwd, eu); err != nil {
		return nil, err
	}
	if err := lookCommand(rootfs, args[0], env, cwd); err != nil {
		return nil, err
	}
	if init && c.Spec.Process.Init {
		args = append([]string{InitPath, "--"}, args...)
	}
	return &libcontainer.Process{
		Args: args, Env: env, Cwd: cwd, UID: eu.UID, GID: eu.GID, AdditionalGroups: eu.Groups,
		Init: init, ConsoleWidth: 80, ConsoleHeight: 24,
	}, nil
}

func hostnameEnv(c *Container) string {
	if c.Spec.HostNetwork {
		h, _ := os.Hostname()
		return h
	}
	return hostname(c)
}

// classifyStartError maps libcontainer's exec failures to the sentinels.
func classifyStartError(c *Container, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "exec"):
		return fmt.Errorf("%v: %w", err, ErrCommandNotFound)
	case strings.Contains(msg, "permission denied") && strings.Contains(msg, "exec"):
		return fmt.Errorf("%v: %w", err, ErrNotExecutable)
	}
	return fmt.Errorf("container %s: start: %w", c.ID, err)
}

func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// destroy removes the libcontainer container (its cgroup leaf and state).
func (mon *monitor) destroy() {
	if mon.lc != nil {
		mon.lc.Destroy()
		mon.lc = nil
	}
	mon.process = nil
}

// cleanup releases what the monitor holds once the container stopped for good.
func (mon *monitor) cleanup() {
	mon.destroy()
	mon.m.unmountRootfs(mon.c.ID)
	mon.m.removeCgroups(mon.c.ID)
}

// runOnExit runs the OnExit hook, after the monitor lock was released (so
// the hook may remove the container).
func (mon *monitor) runOnExit(ctx context.Context) {
	if len(mon.c.Spec.OnExit) == 0 || mon.callerRemoves {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if mon.hooks.OnExit != nil && mon.hooks.OnExit(hctx, mon.c) {
		return
	}
	cmd := exec.CommandContext(hctx, mon.c.Spec.OnExit[0], mon.c.Spec.OnExit[1:]...)
	cmd.Env = append(os.Environ(), "BERTH_CONTAINER_ID="+mon.c.ID)
	cmd.Run()
}

// lockMonitor takes the monitor lock, held for the monitor's life. Get and
// List probe it for a moment, and the previous monitor of a container just
// stopped may still be cleaning up, so retries ride over that for a second.
func lockMonitor(path string) (*lockfile.Handle, error) {
	for i := 0; ; i++ {
		h, ok, err := lockfile.TryLock(path)
		if err != nil {
			return nil, err
		}
		if ok {
			return h, nil
		}
		if i == 200 {
			return nil, errAlreadyRunning
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitExecd waits (up to a second) until pid has exec'd the container's
// command: libcontainer's Run returns once it told "runc init" to exec,
// and a signal reaching the Go init before that (a Stop right after Start)
// would make it exit 2 instead of acting on the command's handlers.
func waitExecd(pid int) {
	initCmdline := os.Args[0] + "\x00init\x00"
	path := "/proc/" + strconv.Itoa(pid) + "/cmdline"
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != initCmdline {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}
