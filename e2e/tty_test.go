package e2e

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

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
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(out.String(), s)
	}
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
