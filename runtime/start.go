package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
)

// The monitor reports to Start on an inherited pipe (fd 3) with one line:
// "started <pid>", or "error <kind> <message>" with kind one of notfound,
// notexec, invalid, conflict, running (another monitor has it), other. With StartOptions.Attach it first
// writes "listening" once attach.sock accepts clients.
const reportFDEnv = "BERTH_MONITOR_REPORT_FD"

// monitorGoEnv tunes the Go runtime of a monitor (and of libcontainer's
// "runc init", which inherits GOMAXPROCS from it): one P, because a monitor
// is a sequential program and `up` starts dozens of them at once on a few
// CPUs, where idle Ps spinning for work and a GC spread over every CPU cost
// ~9 % of the CPU of `up -d` of 20 services (bench/README.md); and a GC that
// waits for 4x the live heap, as a monitor allocates a few MB while it
// starts its container and then execs into berth-monitor-idle, which sets
// its own. Neither reaches the container: libcontainer gives the init a
// fresh environment and clears it before the exec.
var monitorGoEnv = []string{"GOMAXPROCS=1", "GOGC=400"}

// waitAttachEnv asks the monitor to wait for one attach client before it
// starts the process.
const waitAttachEnv = "BERTH_MONITOR_WAIT_ATTACH"

// callerRemovesEnv tells the monitor that its Start's caller removes the
// container once it stopped (StartOptions.CallerRemoves).
const callerRemovesEnv = "BERTH_MONITOR_CALLER_REMOVES"

// Start spawns the container's monitor and returns as soon as the
// container's process runs. An error starting it wraps ErrCommandNotFound
// or ErrNotExecutable when the command is missing or not executable. Starting
// a running container does nothing.
func (m *Manager) Start(ctx context.Context, ref string, opts StartOptions) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if opts.Attach != nil {
			return m.Attach(ctx, c.ID, *opts.Attach)
		}
		return nil
	}
	if m.opts.MonitorCommand == nil {
		return fmt.Errorf("container %s: runtime has no MonitorCommand: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	next, kill, err := m.spawnMonitor(ctx, c, opts.Attach != nil, opts.Attach != nil && opts.CallerRemoves)
	if err != nil {
		return err
	}
	defer kill(false)
	if opts.Attach != nil && opts.BeforeAttach != nil {
		if err := opts.BeforeAttach(); err != nil {
			kill(true)
			return err
		}
	}
	line, ok, err := next()
	if err != nil {
		return err
	}
	var session *attachSession
	if ok && line == "listening" {
		session, err = m.dialAttach(ctx, c, *opts.Attach)
		if err != nil {
			kill(true)
			return err
		}
		defer session.close()
		if line, ok, err = next(); err != nil {
			return err
		}
	}
	if !ok {
		st, _ := m.load(c.ID)
		msg := "monitor exited before starting the container"
		if st != nil && st.State.Error != "" {
			msg = st.State.Error
		}
		return fmt.Errorf("container %s: %s: %w", c.Name, msg, errdefs.ErrUnavailable)
	}
	if err := parseReport(line); err != nil {
		if errors.Is(err, errAlreadyRunning) && opts.Attach == nil {
			return nil // a concurrent Start won: it is running
		}
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	if session != nil {
		err := session.run(ctx)
		// The monitor sends the exit code before it ends the session, so a
		// Wait after a --rm removal still knows it.
		if session.exitCode != nil {
			m.exits.Store(c.ID, *session.exitCode)
		} else if cur, lerr := m.load(c.ID); lerr == nil && !cur.State.Running() {
			m.exits.Store(c.ID, cur.State.ExitCode)
		}
		return err
	}
	return nil
}

// spawnMonitor starts the monitor of c and returns a function reading its
// report lines (ok false once the pipe closed) and a function that closes
// the pipe and, with true, kills the monitor.
func (m *Manager) spawnMonitor(ctx context.Context, c *Container, waitAttach, callerRemoves bool) (func() (string, bool, error), func(bool), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	argv := m.opts.MonitorCommand(c.ID)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), reportFDEnv+"=3")
	cmd.Env = append(cmd.Env, monitorGoEnv...)
	if waitAttach {
		cmd.Env = append(cmd.Env, waitAttachEnv+"=1")
	}
	if callerRemoves {
		cmd.Env = append(cmd.Env, callerRemovesEnv+"=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("container %s: start monitor: %w", c.Name, err)
	}
	go cmd.Wait() // reap it if this process outlives it
	lines := make(chan string, 2)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() (string, bool, error) {
		select {
		case <-ctx.Done():
			return "", false, ctx.Err()
		case l, ok := <-lines:
			return l, ok, nil
		}
	}
	kill := func(k bool) {
		if k {
			cmd.Process.Kill()
		}
		r.Close()
	}
	return next, kill, nil
}

// parseReport turns the monitor's report line into nil or an error.
func parseReport(line string) error {
	if rest, ok := strings.CutPrefix(line, "started "); ok {
		if _, err := strconv.Atoi(rest); err == nil {
			return nil
		}
	}
	rest, ok := strings.CutPrefix(line, "error ")
	if !ok {
		return fmt.Errorf("unexpected monitor report %q: %w", line, errdefs.ErrUnavailable)
	}
	kind, msg, _ := strings.Cut(rest, " ")
	classes := map[string]error{"notfound": ErrCommandNotFound, "notexec": ErrNotExecutable,
		"invalid": errdefs.ErrInvalidArgument, "conflict": errdefs.ErrConflict, "running": errAlreadyRunning}
	if class, ok := classes[kind]; ok {
		return errdefs.Errorf(class, "%s", strings.TrimSuffix(msg, ": "+class.Error()))
	}
	return errors.New(msg)
}

// reportKind is the report kind of a start error.
func reportKind(err error) string {
	switch {
	case errors.Is(err, errAlreadyRunning):
		return "running"
	case errors.Is(err, ErrCommandNotFound):
		return "notfound"
	case errors.Is(err, ErrNotExecutable):
		return "notexec"
	case errors.Is(err, errdefs.ErrInvalidArgument):
		return "invalid"
	case errors.Is(err, errdefs.ErrConflict):
		return "conflict"
	}
	return "other"
}

// errAlreadyRunning: another monitor runs the container.
var errAlreadyRunning = fmt.Errorf("container is already running: %w", errdefs.ErrConflict)

// reporter is the monitor's end of the report pipe.
type reporter struct{ f *os.File }

func newReporter() *reporter {
	fd, err := strconv.Atoi(os.Getenv(reportFDEnv))
	os.Unsetenv(reportFDEnv)
	if err != nil || fd < 3 {
		return &reporter{}
	}
	syscall.CloseOnExec(fd)
	return &reporter{f: os.NewFile(uintptr(fd), "report")}
}

func (r *reporter) send(line string) {
	if r.f != nil {
		r.f.WriteString(strings.ReplaceAll(line, "\n", " ") + "\n")
	}
}

func (r *reporter) started(pid int) {
	r.send("started " + strconv.Itoa(pid))
	r.close()
}

func (r *reporter) failed(err error) {
	r.send("error " + reportKind(err) + " " + err.Error())
	r.close()
}

func (r *reporter) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
