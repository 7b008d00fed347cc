package e2e

import (
	"strings"
	"testing"
)

// --pid and --ipc share another container's namespaces, or the host's.
func TestRunPIDAndIPCModes(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "main", "--network", "none", "busybox", "sleep", "300")
	if out := e.must("container", "run", "--rm", "--network", "none", "--pid", "container:main", "busybox", "ps"); !strings.Contains(out, "sleep 300") {
		t.Errorf("--pid container:main does not see main's process:\n%s", out)
	}
	own := e.must("container", "run", "--rm", "--network", "none", "busybox", "ps")
	if strings.Contains(own, "sleep 300") {
		t.Errorf("a private pid namespace sees main's process:\n%s", own)
	}
	mainIPC := e.must("container", "exec", "main", "readlink", "/proc/1/ns/ipc")
	if got := e.must("container", "run", "--rm", "--network", "none", "--ipc", "container:main", "busybox", "readlink", "/proc/self/ns/ipc"); got != mainIPC {
		t.Errorf("--ipc container:main: %q, main has %q", got, mainIPC)
	}
	if got := e.must("container", "run", "--rm", "--network", "none", "busybox", "readlink", "/proc/self/ns/ipc"); got == mainIPC {
		t.Errorf("a private IPC namespace equals main's (%s)", got)
	}
	// The host's pid namespace shows processes outside any container: this
	// test binary among them.
	if out := e.must("container", "run", "--rm", "--network", "none", "--pid", "host", "busybox", "ps"); !strings.Contains(out, "e2e.test") {
		t.Errorf("--pid host does not show the host's processes:\n%s", out)
	}
	if r := e.run("container", "run", "--rm", "--pid", "bogus", "busybox", "true"); r.Code != 125 || !strings.Contains(r.Stderr, `invalid --pid "bogus"`) {
		t.Errorf("bad --pid: %s", r)
	}
	e.must("container", "stop", "-t", "0", "main")
	if r := e.run("container", "run", "--rm", "--network", "none", "--pid", "container:main", "busybox", "true"); r.Code != 125 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("joining a stopped container's pid namespace: %s", r)
	}
}

// Compose's pid: service:X joins the service's container's pid namespace.
func TestComposePIDService(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "pidns", `services:
  app:
    image: busybox
    init: true
    network_mode: none
    command: ["sleep", "300"]
  debug:
    image: busybox
    init: true
    network_mode: none
    pid: service:app
    command: ["sleep", "301"]
`)
	e.must("--project-directory", dir, "up", "-d")
	defer e.run("--project-directory", dir, "down", "-t", "0")
	if out := e.must("--project-directory", dir, "exec", "-T", "debug", "ps"); !strings.Contains(out, "sleep 300") || !strings.Contains(out, "sleep 301") {
		t.Errorf("debug does not share app's pid namespace:\n%s", out)
	}
}
