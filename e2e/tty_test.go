package e2e

import (
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/creack/pty"
)

// run -it: a shell on a terminal, its exit code, and the window size.
func TestRunTTY(t *testing.T) {
	e := newEnv(t)
	cmd := exec.Command(e.bin, "--root", e.root, "container", "run", "-it", "--rm", "busybox", "sh")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := readAll(f)
	seen := func(s string) bool { return strings.Contains(out.String(), s) }
	e.waitFor("a prompt", 20*time.Second, func() bool { return seen("#") })
	io.WriteString(f, "echo answer=$((6*7)); stty size; [ -t 0 ] && echo is-a-tty; exit 5\r")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("run -it did not end; output:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Errorf("exit: %v, want code 5", err)
	}
	for _, want := range []string{"answer=42", "33 101", "is-a-tty"} {
		if !seen(want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// attach to a detached -it container, type into it, and detach with
// ctrl-p ctrl-q: the container keeps running.
func TestAttachDetach(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "-it", "--name", "shell", "busybox", "sh")
	cmd := exec.Command(e.bin, "--root", e.root, "container", "attach", "shell")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := readAll(f)
	seen := func(s string) bool { return strings.Contains(out.String(), s) }
	io.WriteString(f, "echo attached=$((40+2))\r")
	e.waitFor("the echo through attach", 20*time.Second, func() bool { return seen("attached=42") })
	detach(t, f, cmd, out)
	if s := e.inspect("shell", "{{.State.Status}}"); s != "running" {
		t.Errorf("after detach the container is %q", s)
	}
}

// detach types ctrl-p ctrl-q on the terminal f of cmd (run -it or attach)
// and waits for cmd to end without an error.
func detach(t *testing.T, f io.Writer, cmd *exec.Cmd, out *testutil.SyncBuffer) {
	t.Helper()
	io.WriteString(f, "\x10\x11")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s after the detach keys: %v", cmd.Args[3:5], err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not detach; output:\n%s", cmd.Args[3:5], out.String())
	}
}

// readAll copies what the terminal shows into a buffer the test may read
// while it fills.
func readAll(f io.Reader) *testutil.SyncBuffer {
	out := &testutil.SyncBuffer{}
	go io.Copy(out, f)
	return out
}

// run -it --rm, then detach with ctrl-p ctrl-q: the container keeps
// running, and once it stops its monitor removes it (the CLI that would
// have is gone), as Docker's daemon does.
func TestRunRmDetachThenExit(t *testing.T) {
	e := newEnv(t)
	cmd := exec.Command(e.bin, "--root", e.root, "container", "run", "-it", "--rm", "--name", "rmshell", "busybox", "sh")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := readAll(f)
	e.waitFor("a prompt", 20*time.Second, func() bool { return strings.Contains(out.String(), "#") })
	detach(t, f, cmd, out)
	if s := e.inspect("rmshell", "{{.State.Status}} {{.HostConfig.AutoRemove}}"); s != "running true" {
		t.Fatalf("after detach the container is %q, want running with AutoRemove", s)
	}
	e.must("container", "stop", "-t", "1", "rmshell")
	e.waitFor("the stopped --rm container to be removed", 20*time.Second, func() bool {
		return e.run("container", "inspect", "rmshell").Code != 0
	})
}
