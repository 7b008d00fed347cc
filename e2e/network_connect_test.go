package e2e

import (
	"strings"
	"testing"
)

// network connect joins a running container to another network at once
// (reachable by name and alias there) and for later starts; disconnect
// takes it away again.
func TestNetworkConnectDisconnect(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "back")
	e.must("network", "create", "front")
	e.must("container", "run", "-d", "--name", "api", "--network", "back", "busybox",
		"sh", "-c", "echo api > /tmp/index.html; httpd -f -p 8080 -h /tmp")
	fetch := func(name string) result {
		return e.run("container", "run", "--rm", "--network", "front", "busybox", "timeout", "5", "wget", "-qO-", "http://"+name+":8080/index.html")
	}
	if r := fetch("api"); r.Code == 0 {
		t.Fatalf("api reachable from front before connect: %s", r)
	}
	e.must("network", "connect", "--alias", "gateway", "front", "api")
	for _, name := range []string{"api", "gateway"} {
		if r := fetch(name); r.Code != 0 || r.Stdout != "api\n" {
			t.Errorf("after connect, fetch %s from front: %s", name, r)
		}
	}
	if out := e.inspect("api", "{{.NetworkSettings.Networks.front.IPAddress}}"); !strings.Contains(out, ".") {
		t.Errorf("inspect shows no front address: %q", out)
	}
	if r := e.run("network", "connect", "front", "api"); r.Code == 0 || !strings.Contains(r.Stderr, "already connected") {
		t.Errorf("second connect: %s", r)
	}
	// The connection is part of the container: it survives a restart.
	e.must("container", "restart", "-t", "1", "api")
	if r := fetch("gateway"); r.Code != 0 {
		t.Errorf("after restart, fetch gateway from front: %s", r)
	}
	e.must("network", "disconnect", "front", "api")
	if r := fetch("api"); r.Code == 0 {
		t.Errorf("api still reachable from front after disconnect: %s", r)
	}
	if r := e.run("network", "disconnect", "front", "api"); r.Code == 0 || !strings.Contains(r.Stderr, "not connected") {
		t.Errorf("second disconnect: %s", r)
	}
	if r := e.run("network", "rm", "front"); r.Code != 0 {
		t.Errorf("front still in use after disconnect: %s", r)
	}
}
