package network_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/network"
)

func attach(t testing.TB, m *network.Manager, id, path, netName string) *network.Endpoint {
	t.Helper()
	ep, err := m.Attach(context.Background(), network.AttachOptions{ContainerID: id, ContainerName: "c-" + id[:6], NetNSPath: path, Network: netName})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestTwoNamespacesTalkOverNetwork(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "talk"})
	idA, pathA := newNetNS(t, m)
	idB, pathB := newNetNS(t, m)
	inNS(t, pathA, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("lo in a new netns: %v, %v: want it up", lo, err)
		}
		return nil
	})
	epA := attach(t, m, idA, pathA, "talk")
	epB := attach(t, m, idB, pathB, n.ID[:8])
	if epA.IP == epB.IP || epA.IfName != "eth0" || epA.Gateway != n.Gateway || epA.MAC != macOf(epA.IP) {
		t.Fatalf("endpoints %+v and %+v", epA, epB)
	}
	hp, err := os.ReadFile("/sys/class/net/" + network.HostVethName(idA, n.ID) + "/brport/hairpin_mode")
	if err != nil || strings.TrimSpace(string(hp)) != "1" {
		t.Fatalf("host veth hairpin mode %q, %v: want it on", hp, err)
	}
	again := attach(t, m, idA, pathA, "talk")
	if again.IP != epA.IP {
		t.Fatalf("second Attach gave %s, want the same endpoint %s", again.IP, epA.IP)
	}
	serveEcho(t, pathA, net.JoinHostPort(epA.IP, "7000"))
	if got, err := echoFrom(t, pathB, net.JoinHostPort(epA.IP, "7000"), "over the bridge"); err != nil || got != "over the bridge" {
		t.Fatalf("B -> A: %q, %v", got, err)
	}
	// Default route via the gateway: the host's bridge address answers.
	inNS(t, pathB, func() error {
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == n.Gateway {
				return nil
			}
		}
		return fmt.Errorf("no default route via %s in %v", n.Gateway, routes)
	})
	eps, err := m.Endpoints(ctx, "talk")
	if err != nil || len(eps) != 2 {
		t.Fatalf("Endpoints = %+v, %v", eps, err)
	}
	if err := m.Detach(ctx, idB, "talk"); err != nil {
		t.Fatal(err)
	}
	if _, err := echoFrom(t, pathB, net.JoinHostPort(epA.IP, "7000"), "x"); err == nil {
		t.Fatal("B still reaches A after Detach")
	}
	if eps, _ := m.Endpoints(ctx, "talk"); len(eps) != 1 || eps[0].ContainerID != idA {
		t.Fatalf("after Detach: endpoints %+v", eps)
	}
}

func macOf(ip string) string {
	v4 := net.ParseIP(ip).To4()
	return net.HardwareAddr{2, 0x42, v4[0], v4[1], v4[2], v4[3]}.String()
}

func TestSecondNetworkIsEth1(t *testing.T) {
	m, _ := newManager(t)
	createNet(t, m, network.CreateOptions{Name: "one"})
	createNet(t, m, network.CreateOptions{Name: "two", Subnet: "10.213.7.0/24", Gateway: "10.213.7.254"})
	id, path := newNetNS(t, m)
	attach(t, m, id, path, "one")
	ep, err := m.Attach(context.Background(), network.AttachOptions{ContainerID: id, NetNSPath: path, Network: "two", IP: "10.213.7.9"})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IfName != "eth1" || ep.IP != "10.213.7.9" || ep.PrefixLen != 24 {
		t.Fatalf("second endpoint %+v, want eth1 with 10.213.7.9/24", ep)
	}
	id2, path2 := newNetNS(t, m)
	_, err = m.Attach(context.Background(), network.AttachOptions{ContainerID: id2, NetNSPath: path2, Network: "two", IP: "10.213.7.9"})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("static IP in use: %v, want ErrConflict", err)
	}
}

func TestRemoveRefusesWhileEndpointsExist(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "busy"})
	id, path := newNetNS(t, m)
	if _, err := m.Attach(ctx, network.AttachOptions{ContainerID: id, ContainerName: "web", NetNSPath: path, Network: "busy"}); err != nil {
		t.Fatal(err)
	}
	err := m.Remove(ctx, "busy")
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), `network "busy" has active endpoints: web`) {
		t.Fatalf("Remove with an endpoint: %v", err)
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		t.Fatalf("bridge gone after a refused Remove: %v", err)
	}
	if err := m.DetachAll(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, n)
	if _, err := m.Get(ctx, "busy"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Remove: %v", err)
	}
}

func TestFailedAttachLeavesNothing(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "fail", Subnet: "10.215.0.0/29"})
	id, path := newNetNS(t, m)
	for _, o := range []network.AttachOptions{
		{ContainerID: id, NetNSPath: "/nonexistent/netns", Network: "fail"},
		{ContainerID: id, NetNSPath: path, Network: "fail", IfName: "lo"}, // name taken in the netns
	} {
		if _, err := m.Attach(ctx, o); err == nil {
			t.Fatalf("Attach(%+v) succeeded", o)
		}
		if eps, _ := m.Endpoints(ctx, "fail"); len(eps) != 0 {
			t.Fatalf("endpoints after failed attach: %+v", eps)
		}
		br, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			t.Fatal(err)
		}
		links, err := netlink.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			links, err = netlink.LinkList()
		}
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				t.Fatalf("stray link %s on %s after failed attach", l.Attrs().Name, n.Bridge)
			}
		}
	}
	// The small subnet (.2-.6 free) still has all its addresses: five
	// containers fit, a sixth does not.
	for i := 0; i < 5; i++ {
		id, path := newNetNS(t, m)
		attach(t, m, id, path, "fail")
	}
	id6, path6 := newNetNS(t, m)
	if _, err := m.Attach(ctx, network.AttachOptions{ContainerID: id6, NetNSPath: path6, Network: "fail"}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("attach to a full subnet: %v, want ErrUnavailable", err)
	}
}

func TestPublishPortsIntoNamespace(t *testing.T) {
	m, _ := newManager(t)
	createNet(t, m, network.CreateOptions{Name: "pub"})
	id, path := newNetNS(t, m)
	ep := attach(t, m, id, path, "pub")
	serveEcho(t, path, net.JoinHostPort(ep.IP, "8080"))
	ports, err := network.ParsePorts([]string{"127.0.0.1::8080"})
	if err != nil {
		t.Fatal(err)
	}
	cl, got, err := network.PublishPorts(context.Background(), ports, ep.IP)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got[0].HostPort == 0 {
		t.Fatalf("ephemeral port not reported: %+v", got)
	}
	hostAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(got[0].HostPort))
	if r, err := echoFrom(t, "", hostAddr, "via proxy"); err != nil || r != "via proxy" {
		t.Fatalf("host %s -> container: %q, %v", hostAddr, r, err)
	}
	// A second container asking for the same host port fails, naming it.
	_, _, err = network.PublishPorts(context.Background(), []network.PortMapping{{HostIP: "127.0.0.1", HostPort: got[0].HostPort, ContainerPort: 8080, Proto: "tcp"}}, ep.IP)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), hostAddr+"/tcp: port is already in use") {
		t.Fatalf("second publish: %v", err)
	}
}

// TestConcurrentAttachNeverDuplicatesIP attaches from goroutines of this
// process and from child processes (this test binary re-executed) at once.
func TestConcurrentAttachNeverDuplicatesIP(t *testing.T) {
	m, opts := newManager(t)
	ctx := context.Background()
	createNet(t, m, network.CreateOptions{Name: "race", Subnet: "10.214.0.0/24"})
	const goroutines, children, perChild = 8, 3, 6
	var mu sync.Mutex
	var ips []string
	var wg sync.WaitGroup
	waitChildren := startAttachChildren(t, m, opts, children, perChild)
	for g := 0; g < goroutines; g++ {
		id, path := newNetNS(t, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ep, err := m.Attach(ctx, network.AttachOptions{ContainerID: id, NetNSPath: path, Network: "race"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ips = append(ips, ep.IP)
			mu.Unlock()
		}()
	}
	wg.Wait()
	ips = append(ips, waitChildren()...)
	if len(ips) != goroutines+children*perChild {
		t.Fatalf("got %d addresses, want %d: %v", len(ips), goroutines+children*perChild, ips)
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if seen[ip] {
			t.Fatalf("address %s handed out twice: %v", ip, ips)
		}
		seen[ip] = true
	}
	eps, err := m.Endpoints(ctx, "race")
	if err != nil || len(eps) != len(ips) {
		t.Fatalf("store has %d endpoints, want %d (%v)", len(eps), len(ips), err)
	}
}

// startAttachChildren re-executes the test binary children times; each
// child attaches perChild new namespaces to "race". The returned function
// waits for them and returns the addresses they got. Their containers are
// torn down at the end of the test.
func startAttachChildren(t *testing.T, m *network.Manager, opts network.Options, children, perChild int) func() []string {
	ctx := context.Background()
	prefix := randID(t)[:8]
	made.Lock()
	for c := 0; c < children; c++ {
		for i := 0; i < perChild; i++ {
			id := fmt.Sprintf("%s-%d-%d", prefix, c, i)
			made.containers = append(made.containers, id)
			made.netns = append(made.netns, m.NetNSPath(id))
			t.Cleanup(func() { m.DetachAll(ctx, id); m.DeleteNetNS(ctx, id) })
		}
	}
	made.Unlock()
	var wg sync.WaitGroup
	outs := make([][]byte, children)
	for c := 0; c < children; c++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BERTH_NETTEST_CHILD=1", "NT_ROOT="+opts.Root, "NT_RUN="+opts.RunRoot,
			"NT_NETNS="+opts.NetNSDir, "NT_PREFIX="+fmt.Sprintf("%s-%d", prefix, c), "NT_COUNT="+strconv.Itoa(perChild))
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v", c, err)
			}
			outs[c] = out
		}()
	}
	return func() []string {
		wg.Wait()
		var ips []string
		for _, out := range outs {
			ips = append(ips, strings.Fields(string(out))...)
		}
		return ips
	}
}

// attachChild is the re-executed test binary of
// TestConcurrentAttachNeverDuplicatesIP: it attaches NT_COUNT fresh
// namespaces and prints their addresses.
func attachChild() int {
	ctx := context.Background()
	m, err := network.New(network.Options{Root: os.Getenv("NT_ROOT"), RunRoot: os.Getenv("NT_RUN"), NetNSDir: os.Getenv("NT_NETNS")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	count, _ := strconv.Atoi(os.Getenv("NT_COUNT"))
	for i := 0; i < count; i++ {
		id := fmt.Sprintf("%s-%d", os.Getenv("NT_PREFIX"), i)
		path, err := m.NewNetNS(ctx, id)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ep, err := m.Attach(ctx, network.AttachOptions{ContainerID: id, NetNSPath: path, Network: "race"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(ep.IP)
	}
	return 0
}

func TestPublishPortsAllAddresses(t *testing.T) {
	m, _ := newManager(t)
	createNet(t, m, network.CreateOptions{Name: "pub6"})
	id, path := newNetNS(t, m)
	ep := attach(t, m, id, path, "pub6")
	serveEcho(t, path, net.JoinHostPort(ep.IP, "8081"))
	cl, got, err := network.PublishPorts(context.Background(), []network.PortMapping{{ContainerPort: 8081, Proto: "tcp"}}, ep.IP)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	port := strconv.Itoa(got[0].HostPort)
	for _, addr := range []string{"127.0.0.1", ep.Gateway} {
		if r, err := echoFrom(t, "", net.JoinHostPort(addr, port), "all"); err != nil || r != "all" {
			t.Fatalf("via %s:%s: %q, %v", addr, port, r, err)
		}
	}
	if c, err := net.Dial("tcp6", net.JoinHostPort("::1", port)); err == nil {
		c.Close()
	} else if l, lerr := net.Listen("tcp6", "[::1]:0"); lerr == nil {
		l.Close()
		t.Fatalf("host has IPv6 but [::1]:%s is not published: %v", port, err)
	}
}

// TestNetworksAreIsolated: a container reaches containers on its own
// network, but not, through the host, those on another network (as in
// Docker), nor those on an internal network, even when they have a route
// back.
func TestNetworksAreIsolated(t *testing.T) {
	m, _ := newManager(t)
	createNet(t, m, network.CreateOptions{Name: "open1"})
	createNet(t, m, network.CreateOptions{Name: "open2"})
	createNet(t, m, network.CreateOptions{Name: "closed", Internal: true})
	idC, pathC := newNetNS(t, m)
	client := attach(t, m, idC, pathC, "open1")
	idP, pathP := newNetNS(t, m)
	peer := attach(t, m, idP, pathP, "open1")
	idO, pathO := newNetNS(t, m)
	other := attach(t, m, idO, pathO, "open2")
	idI, pathI := newNetNS(t, m)
	internal := attach(t, m, idI, pathI, "closed")
	// The internal container has no default route; give it one back to the
	// client so only the firewall can stop the connection.
	inNS(t, pathI, func() error {
		_, dst, _ := net.ParseCIDR(client.IP + "/32")
		l, err := netlink.LinkByName(internal.IfName)
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP(internal.Gateway)})
	})
	for _, s := range []struct{ path, ip string }{{pathP, peer.IP}, {pathO, other.IP}, {pathI, internal.IP}} {
		serveEcho(t, s.path, net.JoinHostPort(s.ip, "7100"))
	}
	if got, err := echoFrom(t, pathC, net.JoinHostPort(peer.IP, "7100"), "same"); err != nil || got != "same" {
		t.Fatalf("same network: %q, %v", got, err)
	}
	for name, ip := range map[string]string{"another network": other.IP, "an internal network": internal.IP} {
		if got, err := echoFrom(t, pathC, net.JoinHostPort(ip, "7100"), "blocked"); err == nil {
			t.Errorf("reached a container on %s through the host: %q", name, got)
		}
	}
}

// TestTeardownAfterDeleteNetNS: with the namespace deleted first, DetachAll
// returns once the kernel has removed the veths, and releases the addresses.
func TestTeardownAfterDeleteNetNS(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n1 := createNet(t, m, network.CreateOptions{Name: "td1"})
	n2 := createNet(t, m, network.CreateOptions{Name: "td2"})
	id, path := newNetNS(t, m)
	attach(t, m, id, path, "td1")
	attach(t, m, id, path, "td2")
	if err := m.DeleteNetNS(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := m.DetachAll(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*network.Network{n1, n2} {
		if _, err := netlink.LinkByName(network.HostVethName(id, n.ID)); err == nil {
			t.Fatalf("host veth of %s still there after DetachAll", n.Name)
		}
	}
	if eps, err := m.Endpoints(ctx, ""); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints after DetachAll: %+v, %v", eps, err)
	}
}

// TestParallelDetachAll tears down many containers at once (their veths go
// in batches) and leaves other devices alone.
func TestParallelDetachAll(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "par"})
	foreign := "bt" + randID(t)[:10]
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: foreign}, PeerName: foreign + "p"}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if l, err := netlink.LinkByName(foreign); err == nil {
			netlink.LinkDel(l)
		}
	}()
	var ids []string
	for i := 0; i < 12; i++ {
		id, path := newNetNS(t, m)
		attach(t, m, id, path, "par")
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.DetachAll(ctx, id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if _, err := netlink.LinkByName(network.HostVethName(id, n.ID)); err == nil {
			t.Errorf("veth of %s left after DetachAll", id[:12])
		}
	}
	if eps, err := m.Endpoints(ctx, "par"); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints after DetachAll: %d, %v", len(eps), err)
	}
	if _, err := netlink.LinkByName(foreign); err != nil {
		t.Fatalf("a device berth did not make was deleted: %v", err)
	}
}

// TestTeardown: a container's namespace goes with its endpoints; the
// addresses are free at once and the kernel deletes the veths with the
// namespace. When a process still uses a namespace another container
// joined (--network container:X), its veths are deleted before Teardown
// returns.
func TestTeardown(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "tdn"})
	id, path := newNetNS(t, m)
	attach(t, m, id, path, "tdn")
	if err := m.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	if eps, err := m.Endpoints(ctx, ""); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints after Teardown: %+v, %v", eps, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns file after Teardown: %v", err)
	}
	if left := testutil.WaitLinksGone([]string{network.HostVethName(id, n.ID)}, 5*time.Second); len(left) > 0 {
		t.Fatalf("veth %v still there 5 s after Teardown", left)
	}
	if err := m.Teardown(ctx, id); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}

	id, path = newNetNS(t, m)
	attach(t, m, id, path, "tdn")
	user := exec.Command("nsenter", "--net="+path, "sleep", "30")
	if err := user.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { user.Process.Kill(); user.Wait() }()
	// nsenter has entered the namespace once it runs sleep.
	for i := 0; i < 500; i++ {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", user.Process.Pid)); strings.TrimSpace(string(b)) == "sleep" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := m.JoinNetNS(id); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(network.HostVethName(id, n.ID)); err == nil {
		t.Fatal("veth of a namespace still in use left after Teardown")
	}
	if err := m.ForgetNetNS(id); err != nil {
		t.Fatal(err)
	}
	if eps, err := m.Endpoints(ctx, ""); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints after Teardown: %+v, %v", eps, err)
	}
}

// TestNewNetNSLeavesProcessAlone: making namespaces never leaves one of
// the process's threads in them: the main thread in a container's
// namespace would pin it, and Teardown would see it in use.
func TestNewNetNSLeavesProcessAlone(t *testing.T) {
	m, _ := newManager(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		newNetNS(t, m)
		var wg sync.WaitGroup
		for range 4 { // give the scheduler other goroutines to place
			wg.Add(1)
			go func() { defer wg.Done(); time.Sleep(time.Millisecond) }()
		}
		wg.Wait()
		if got, _ := os.Readlink("/proc/self/ns/net"); got != host {
			t.Fatalf("the main thread is in %s after NewNetNS, not the host's %s", got, host)
		}
	}
}
