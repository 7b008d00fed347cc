package e2e

import (
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
}
