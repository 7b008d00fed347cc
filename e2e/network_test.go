package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Issue 3, test 1: names and aliases resolve on a shared network only.
func TestNetworkNames(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "front")
	e.must("network", "create", "other")
	e.must("container", "run", "-d", "--name", "web", "--network", "front", "--network-alias", "www",
		"busybox", "sh", "-c", "echo hello > /tmp/index.html; httpd -f -p 8080 -h /tmp")
	ip := e.inspect("web", "{{.NetworkSettings.Networks.front.IPAddress}}")
	if net.ParseIP(ip) == nil {
		t.Fatalf("web has no address on front: %q", ip)
	}
	for _, name := range []string{"web", "www"} {
		r := e.run("container", "run", "--rm", "--network", "front", "busybox", "timeout", "5", "wget", "-qO-", "http://"+name+":8080/index.html")
		if r.Code != 0 || r.Stdout != "hello\n" {
			t.Errorf("fetch by %s: %s", name, r)
		}
	}
	if r := e.run("container", "run", "--rm", "--network", "other", "busybox", "nslookup", "web"); r.Code == 0 && strings.Contains(r.Stdout, ip) {
		t.Errorf("web resolves from another network: %s", r)
	}
	hosts := e.must("container", "exec", "web", "cat", "/etc/hosts")
	if !strings.Contains(hosts, ip) {
		t.Errorf("/etc/hosts lacks the container's address %s:\n%s", ip, hosts)
	}
	// After stop the name no longer resolves.
	e.must("container", "stop", "-t", "1", "web")
	if r := e.run("container", "run", "--rm", "--network", "front", "busybox", "nslookup", "web"); r.Code == 0 && strings.Contains(r.Stdout, ip) {
		t.Errorf("web still resolves after stop: %s", r)
	}
}

func TestNetworkNone(t *testing.T) {
	e := newEnv(t)
	out := e.must("container", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net")
	if strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
		t.Errorf("--network none has links %q, want only lo", out)
	}
}

// Issue 3, test 2: a published port serves the host; the same port again
// fails clearly and leaves nothing behind.
func TestPublishPort(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	e.must("container", "run", "-d", "--name", "pub", "-p", "127.0.0.1:"+port+":8080", "busybox",
		"sh", "-c", "echo published > /tmp/index.html; httpd -f -p 8080 -h /tmp")
	var body string
	e.waitFor("the published port to answer", 10*time.Second, func() bool {
		resp, err := httpGet("http://127.0.0.1:" + port + "/index.html")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return true
	})
	if body != "published\n" {
		t.Errorf("body %q", body)
	}
	if out := e.must("container", "port", "pub"); !strings.Contains(out, "8080/tcp -> 127.0.0.1:"+port) {
		t.Errorf("container port: %q", out)
	}
	// After a restart the port is published again (detached on stop,
	// bound anew by the next start).
	e.must("container", "restart", "-t", "1", "pub")
	e.waitFor("the port to answer after restart", 10*time.Second, func() bool {
		resp, err := httpGet("http://127.0.0.1:" + port + "/index.html")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	r := e.run("container", "run", "-d", "--name", "clash", "-p", "127.0.0.1:"+port+":8080", "busybox", "httpd", "-f", "-p", "8080")
	if r.Code == 0 || !strings.Contains(r.Stderr, port) {
		t.Errorf("second publish of %s: %s", port, r)
	}
	e.must("container", "rm", "-f", "clash")
	e.must("container", "rm", "-f", "pub")
	if l, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
		t.Errorf("port %s still bound after rm: %v", port, err)
	} else {
		l.Close()
	}
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// --network host shares the host's interfaces but not its /etc files.
func TestNetworkHost(t *testing.T) {
	e := newEnv(t)
	before, _ := os.ReadFile("/etc/hosts")
	hostName, _ := os.Hostname()
	out := e.must("container", "run", "--rm", "--network", "host", "busybox", "sh", "-c", "hostname; echo tampered >> /etc/hosts; ls /sys/class/net | grep -c .")
	lines := strings.Fields(out)
	if len(lines) != 2 || lines[0] != hostName || lines[1] == "1" {
		t.Errorf("host network container saw %q (hostname, link count)", out)
	}
	if after, _ := os.ReadFile("/etc/hosts"); string(after) != string(before) {
		t.Errorf("the container changed the host's /etc/hosts")
	}
}

// --network container:NAME shares the other container's network namespace.
func TestNetworkContainer(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "srv", "busybox", "sh", "-c", "echo shared > /tmp/index.html; httpd -f -p 8080 -h /tmp")
	out := e.must("container", "run", "--rm", "--network", "container:srv", "busybox", "sh", "-c",
		"for i in 1 2 3 4 5; do timeout 3 wget -qO- http://127.0.0.1:8080/index.html && exit 0; sleep 0.5; done; exit 1")
	if out != "shared\n" {
		t.Errorf("through the shared netns: %q", out)
	}
	if r := e.run("container", "run", "--rm", "--network", "container:nosuch", "busybox", "true"); r.Code != 125 {
		t.Errorf("container:nosuch: %s", r)
	}
}

// A container stopped while another one shares its network namespace
// loses its veth at once (the namespace lives on), and a start of the
// sharer while it is stopped fails clearly.
func TestNetworkContainerStopShared(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "srv", "busybox", "sleep", "300")
	br := e.inspectNet("bridge", `{{index .Options "com.docker.network.bridge.name"}}`)
	before := map[string]bool{}
	ents, _ := os.ReadDir("/sys/class/net/" + br + "/brif")
	for _, de := range ents {
		before[de.Name()] = true
	}
	e.must("container", "run", "-d", "--name", "joiner", "--network", "container:srv", "busybox", "sleep", "300")
	e.must("container", "stop", "-t", "0", "srv")
	for v := range before {
		if _, err := os.Stat("/sys/class/net/" + v); err == nil {
			t.Errorf("veth %s of srv still there after srv stopped while joiner shares its namespace", v)
		}
	}
	e.must("container", "stop", "-t", "0", "joiner")
	if r := e.run("container", "start", "joiner"); r.Code == 0 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("start of joiner while srv is stopped: %s", r)
	}
}

// httpGet fetches url on a new connection, with a timeout.
func httpGet(url string) (*http.Response, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return c.Get(url)
}
