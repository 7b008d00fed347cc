// Package initproc is the tiny init berth runs as PID 1 of a container
// started with --init: it starts the real command, forwards signals to it,
// reaps zombies and exits with the command's status.
package initproc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit codes of the init itself, as Docker's for a command that cannot run.
const (
	codeUsage         = 2
	codeNotExecutable = 126
	codeNotFound      = 127
)

// Main runs the init with args ("--", command...) and returns the exit code:
// the command's, or 128+N when a signal N killed it.
//
// The command runs as a child with the init's stdio and environment. Every
// signal the init can catch is forwarded to it, except SIGCHLD (it triggers
// reaping) and SIGURG (the Go runtime sends it to itself to preempt
// goroutines, so it cannot be told apart from a user's). Every child that
// exits, the command or an orphan re-parented to the init, is reaped. When
// not PID 1, the init makes itself a child subreaper so that orphans still
// come to it.
func Main(args []string) int {
	return run(args, os.Stderr)
}

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "berth-init: no command given: usage: berth-init -- COMMAND [ARG...]")
		return codeUsage
	}
	if os.Getpid() != 1 {
		// Best effort: outside a pid namespace orphans go to the real init otherwise.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "berth-init: %q: %v\n", args[0], unwrapExec(err))
		if errors.Is(err, os.ErrPermission) {
			return codeNotExecutable
		}
		return codeNotFound
	}
	// Subscribe before the child exists, so no SIGCHLD or forwarded signal
	// is lost; an unbuffered-enough channel: SIGCHLDs may coalesce, which
	// the reap loop tolerates.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	defer signal.Stop(sigs)

	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   childAttr(),
	})
	if err != nil {
		fmt.Fprintf(stderr, "berth-init: start %q: %v\n", args[0], err)
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOEXEC) {
			return codeNotExecutable
		}
		return codeNotFound
	}
	return loop(pid, sigs)
}

// childAttr puts the command in its own process group in the terminal's
// foreground when stdin is the controlling terminal (run -it --init), so
// that a Ctrl-C reaches it once, from the terminal, and not a second time
// forwarded by the init.
func childAttr() *syscall.SysProcAttr {
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil || pgrp != unix.Getpgrp() {
		return nil // no controlling terminal on stdin, or the init is not in its foreground
	}
	return &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: 0}
}

// loop forwards signals and reaps children until the command pid exits.
func loop(pid int, sigs <-chan os.Signal) int {
	for {
		if code, done := reap(pid); done {
			return code
		}
		sig := (<-sigs).(syscall.Signal)
		switch sig {
		case unix.SIGCHLD:
			// reaped at the top of the loop
		case unix.SIGURG:
			// the Go runtime's preemption signal, not meant for the child
		default:
			_ = unix.Kill(pid, sig)
		}
	}
}

// reap collects every exited child without blocking and reports the
// command's exit code once it has exited.
func reap(pid int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || p <= 0 {
			return 0, false
		}
		if p != pid {
			continue
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), true
		case ws.Signaled():
			return 128 + int(ws.Signal()), true
		}
	}
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
