package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dnsServerPID is the pid of the berth DNS server of e's root, 0 if none.
func dnsServerPID(t *testing.T, e *env) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "--", "--root "+e.root+" __dns").Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			return pid
		}
	}
	return 0
}

// Issue 3, test 5: SIGKILL of the DNS server; the next container start
// brings it back and names resolve again.
func TestDNSServerKilled(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "dk")
	e.must("container", "run", "-d", "--name", "first", "--network", "dk", "busybox", "sleep", "300")
	pid := dnsServerPID(t, e)
	if pid == 0 {
		t.Fatal("no DNS server runs for a root with a user network")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50 && processAlive(pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	e.must("container", "run", "-d", "--name", "second", "--network", "dk", "busybox", "sleep", "300")
	if p := dnsServerPID(t, e); p == 0 || p == pid {
		t.Fatalf("DNS server not restarted (pid %d, killed %d)", p, pid)
	}
	for _, name := range []string{"first", "second"} {
		if out := e.must("container", "exec", "second", "nslookup", name); !strings.Contains(out, "Name:") {
			t.Errorf("%s does not resolve after the restart:\n%s", name, out)
		}
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// Issue 3: a published port is reachable from other containers through a
// host address (here the gateway of the client's own network, which this
// test's berth created).
func TestPublishedPortFromAnotherContainer(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "srvnet")
	e.must("network", "create", "clinet")
	port := freePort(t)
	e.must("container", "run", "-d", "--name", "srv", "--network", "srvnet", "-p", port+":8080",
		"busybox", "sh", "-c", "echo via-host > /tmp/index.html; httpd -f -p 8080 -h /tmp")
	gw := strings.TrimSpace(e.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "clinet"))
	out := e.must("container", "run", "--rm", "--network", "clinet", "busybox",
		"timeout", "5", "wget", "-qO-", "http://"+gw+":"+port+"/index.html")
	if out != "via-host\n" {
		t.Errorf("fetch through the host address %s:%s: %q", gw, port, out)
	}
}

// An attached start attaches its networks while its monitor starts; when
// that fails (here the network was removed after the container was
// created) the start fails with the reason, and neither the monitor nor
// the container's network namespace is left behind.
func TestStartAttachedNetworkFailure(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "gone")
	id := strings.TrimSpace(e.must("container", "create", "--network", "gone", "busybox", "echo", "hi"))
	e.must("network", "rm", "gone")
	r := e.run("container", "start", "-a", id)
	if r.Code != 125 || !strings.Contains(r.Stderr, `network "gone"`) {
		t.Fatalf("start -a on a removed network: %s", r)
	}
	e.waitFor("the failed start's monitor to be gone", 10*time.Second, func() bool {
		return len(e.procs("__monitor")) == 0
	})
	if ns, _ := os.ReadDir(e.root + "/run/netns"); len(ns) != 0 {
		t.Errorf("network namespaces after the failed start: %d", len(ns))
	}
	if s := e.inspect(id, "{{.State.Status}}"); s != "created" {
		t.Errorf("after the failed start the container is %q, want created", s)
	}
}

// A container's network namespace exists from its start to its stop, and
// inspect's SandboxKey names it only then, as Docker's does.
func TestSandboxKeyWhileRunning(t *testing.T) {
	e := newEnv(t)
	e.must("container", "create", "--name", "made", "busybox", "sleep", "300")
	if k := e.inspect("made", "{{.NetworkSettings.SandboxKey}}"); k != "" {
		t.Errorf("created container's SandboxKey %q, want empty", k)
	}
	e.must("container", "start", "made")
	k := e.inspect("made", "{{.NetworkSettings.SandboxKey}}")
	if _, err := os.Stat(k); k == "" || err != nil {
		t.Errorf("running container's SandboxKey %q: %v", k, err)
	}
	e.must("container", "stop", "-t", "0", "made")
	if k := e.inspect("made", "{{.NetworkSettings.SandboxKey}}"); k != "" {
		t.Errorf("stopped container's SandboxKey %q, want empty", k)
	}
}
