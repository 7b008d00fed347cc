package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Issue 2, test 1: run's output and exit codes.
func TestRunExitCodes(t *testing.T) {
	e := newEnv(t)
	if r := e.run("container", "run", "--rm", "busybox", "echo", "hi"); r.Code != 0 || r.Stdout != "hi\n" {
		t.Fatalf("run echo hi: %s", r)
	}
	if r := e.run("container", "run", "--rm", "busybox", "sh", "-c", "exit 3"); r.Code != 3 {
		t.Errorf("exit 3: %s", r)
	}
	if r := e.run("container", "run", "--rm", "busybox", "no-such-command"); r.Code != 127 {
		t.Errorf("missing command: %s", r)
	}
	if r := e.run("container", "run", "--rm", "busybox", "/etc/passwd"); r.Code != 126 {
		t.Errorf("not executable: %s", r)
	}
	r := e.run("container", "run", "--rm", "no-such-image", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, `image "no-such-image" not found: import, load or build it first`) {
		t.Errorf("missing image: %s", r)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("--rm left containers: %q", out)
	}
}

func TestRunNameClash(t *testing.T) {
	e := newEnv(t)
	e.must("container", "create", "--name", "dup", "busybox", "true")
	r := e.run("container", "run", "--name", "dup", "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, `Conflict. The container name "/dup" is already in use by container "`) {
		t.Errorf("name clash: %s", r)
	}
}

// run -d --rm: the container and its anonymous volumes go once it exits.
func TestDetachedAutoRemove(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--rm", "--name", "brief", "-v", "/scratch", "busybox", "sleep", "1")
	e.waitFor("the --rm container to be removed", 20*time.Second, func() bool {
		return e.must("container", "ps", "-aq") == ""
	})
	if out := e.must("volume", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("anonymous volume left: %q", out)
	}
	// stop of a --rm container succeeds though the container is removed
	// the moment it stops (as docker stop does).
	for i := 0; i < 3; i++ {
		e.must("container", "run", "-d", "--rm", "--name", "stopped", "busybox", "sleep", "300")
		if r := e.run("container", "stop", "-t", "0", "stopped"); r.Code != 0 {
			t.Fatalf("stop of a --rm container: %s", r)
		}
		e.waitFor("the stopped --rm container to be removed", 20*time.Second, func() bool {
			return e.must("container", "ps", "-aq") == ""
		})
	}
}

// A foreground run forwards SIGINT/SIGTERM to the container and returns
// its exit code.
func TestRunSignalProxy(t *testing.T) {
	e := newEnv(t)
	cmd := exec.Command(e.bin, "--root", e.root, "container", "run", "--rm", "--name", "trapper", "busybox",
		"sh", "-c", `trap "exit 42" INT; echo ready; sleep 30 & wait`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("first line %q", line)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("run did not end after SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 42 {
		t.Errorf("exit %v, want 42 from the container's trap", err)
	}
}

// run --rm leaves nothing, run after run (the CLI and the exit hook both
// remove: neither may leave a netns, mount or cgroup behind).
func TestRunRmRepeated(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		if r := e.run("container", "run", "--rm", "-v", "/anon", "busybox", "true"); r.Code != 0 {
			t.Fatalf("run %d: %s", i, r)
		}
	}
	e.waitProcs("__exited", 20*time.Second)
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("containers left: %q", out)
	}
	if out := e.must("volume", "ls", "-q"); out != "" {
		t.Errorf("anonymous volumes left: %q", out)
	}
	if leaks := e.leaks(); len(leaks) > 0 {
		t.Errorf("leaks: %v", leaks)
	}
}
