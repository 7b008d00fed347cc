package network_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/network"
)

func TestMain(m *testing.M) {
	if os.Getenv("BERTH_NETTEST_CHILD") != "" {
		os.Exit(attachChild())
	}
	code := m.Run()
	if err := leftovers(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: leaks after the tests: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// made records every network and fake container the tests made, so the
// end of the run can check that no trace of them is left on the host:
// other berth processes may run at the same time, so comparing whole
// snapshots of the host would not be reliable, but these names are ours.
var made struct {
	sync.Mutex
	nets       []*network.Network
	containers []string
	netns      []string
}

func leftovers() error {
	made.Lock()
	defer made.Unlock()
	if len(made.nets) == 0 {
		return nil
	}
	// Teardown leaves the veths to the kernel, which deletes them with
	// their namespace some milliseconds later.
	var veths []string
	for _, n := range made.nets {
		for _, c := range made.containers {
			veths = append(veths, network.HostVethName(c, n.ID))
		}
	}
	testutil.WaitLinksGone(veths, 5*time.Second)
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		return err
	}
	routes, err := exec.Command("ip", "-o", "route", "show", "table", "all").Output()
	if err != nil {
		return err
	}
	rules, err := exec.Command("iptables-save").Output()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range made.nets {
		for what, text := range map[string][]byte{"link": links, "route": routes, "iptables rule": rules} {
			// Bridge names are unique; subnets are reused by other berth
			// processes as soon as ours are gone, so they prove nothing.
			if strings.Contains(string(text), n.Bridge) {
				errs = append(errs, fmt.Errorf("%s of network %s (%s, %s) left", what, n.Name, n.Bridge, n.Subnet))
			}
		}
		for _, c := range made.containers {
			if v := network.HostVethName(c, n.ID); strings.Contains(string(links), v) {
				errs = append(errs, fmt.Errorf("veth %s left", v))
			}
		}
	}
	for _, p := range made.netns {
		if _, err := os.Stat(p); err == nil {
			errs = append(errs, fmt.Errorf("netns %s left", p))
		}
	}
	return errors.Join(errs...)
}

func randID(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func optionsFor(root string) network.Options {
	l := layout.New(root)
	return network.Options{Root: l.Networks(), RunRoot: l.Network(), NetNSDir: l.NetNS()}
}

// newManager returns a Manager on a fresh root. At the end of the test it
// checks that nothing berth made for the test is left on the host.
func newManager(t *testing.T) (*network.Manager, network.Options) {
	t.Helper()
	testutil.RequiresRoot(t)
	opts := optionsFor(testutil.TempRoot(t))
	m, err := network.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, opts
}

// createNet creates a network that is removed at the end of the test, and
// checks then that its bridge, veths and rules are gone.
func createNet(t *testing.T, m *network.Manager, o network.CreateOptions) *network.Network {
	t.Helper()
	ctx := context.Background()
	n, err := m.Create(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.nets = append(made.nets, n)
	made.Unlock()
	t.Cleanup(func() {
		if err := m.Remove(ctx, n.ID); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove network %s: %v", n.Name, err)
		}
		assertGone(t, n)
	})
	return n
}

// assertGone fails the test if the host still has the network's bridge, a
// route through it, or an iptables rule naming it.
func assertGone(t *testing.T, n *network.Network) {
	t.Helper()
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		t.Errorf("bridge %s of network %s still exists", n.Bridge, n.Name)
	}
	// Only the bridge name identifies our objects: another berth process may
	// take the subnet as soon as the network is gone.
	if out := run(t, "ip", "-o", "route", "show", "table", "all"); strings.Contains(out, n.Bridge) {
		t.Errorf("routes left for %s:\n%s", n.Name, out)
	}
	for _, table := range []string{"filter", "nat"} {
		if out := run(t, "iptables-save", "-t", table); strings.Contains(out, n.Bridge) {
			t.Errorf("iptables %s rules left for %s:\n%s", table, n.Name, out)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}

// newNetNS makes a throwaway namespace for a fake container, detached and
// removed at the end of the test.
func newNetNS(t testing.TB, m *network.Manager) (id, path string) {
	t.Helper()
	ctx := context.Background()
	id = randID(t)
	path, err := m.NewNetNS(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.containers = append(made.containers, id)
	made.netns = append(made.netns, path)
	made.Unlock()
	t.Cleanup(func() {
		if err := m.DetachAll(ctx, id); err != nil {
			t.Errorf("detach all %s: %v", id[:12], err)
		}
		if err := m.DeleteNetNS(ctx, id); err != nil {
			t.Errorf("delete netns: %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("netns file %s left: %v", path, err)
		}
	})
	return id, path
}

func inNS(t testing.TB, path string, f func() error) {
	t.Helper()
	if err := ns.WithNetNSPath(path, func(ns.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

// serveEcho listens on addr inside the namespace and echoes lines.
func serveEcho(t testing.TB, path, addr string) {
	t.Helper()
	var ln net.Listener
	inNS(t, path, func() (err error) { ln, err = net.Listen("tcp4", addr); return err })
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
}

// echoFrom dials addr from inside the namespace ("" = the host) and
// returns the echo of msg.
func echoFrom(t testing.TB, path, addr, msg string) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	dial := func() error { c, err = net.DialTimeout("tcp4", addr, 2*time.Second); return nil }
	if path == "" {
		dial()
	} else {
		inNS(t, path, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, msg+"\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestCreateMakesBridgeAndRules(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	n := createNet(t, m, network.CreateOptions{Name: "front", Labels: map[string]string{"a": "b"}})
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		t.Fatalf("bridge %s: %v", n.Bridge, err)
	}
	if br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("%s: type %s flags %v, want an up bridge", n.Bridge, br.Type(), br.Attrs().Flags)
	}
	addrs, _ := netlink.AddrList(br, netlink.FAMILY_V4)
	_, sn, _ := net.ParseCIDR(n.Subnet)
	ones, _ := sn.Mask.Size()
	if len(addrs) != 1 || addrs[0].IP.String() != n.Gateway || addrs[0].Mask.String() != sn.Mask.String() {
		t.Fatalf("bridge addresses %v, want %s/%d", addrs, n.Gateway, ones)
	}
	nat := run(t, "iptables-save", "-t", "nat")
	if !strings.Contains(nat, "-A BERTH-POSTROUTING -s "+n.Subnet+" ! -o "+n.Bridge+" -j MASQUERADE") ||
		!strings.Contains(nat, "-A POSTROUTING -j BERTH-POSTROUTING") {
		t.Fatalf("no masquerade rule for %s:\n%s", n.Subnet, nat)
	}
	filter := run(t, "iptables-save", "-t", "filter")
	for _, want := range []string{"-A FORWARD -j BERTH-FORWARD", "-A BERTH-FORWARD -i " + n.Bridge + " ! -o " + n.Bridge + " -j ACCEPT"} {
		if !strings.Contains(filter, want) {
			t.Fatalf("filter rules lack %q:\n%s", want, filter)
		}
	}
	if fw, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(fw)) != "1" {
		t.Fatalf("ip_forward = %q after creating a non-internal network", fw)
	}
	// Lookups by name, id and id prefix, and a duplicate name.
	for _, ref := range []string{"front", n.ID, n.ID[:6]} {
		if got, err := m.Get(ctx, ref); err != nil || got.ID != n.ID || got.Labels["a"] != "b" {
			t.Fatalf("Get(%q) = %+v, %v", ref, got, err)
		}
	}
	if _, err := m.Create(ctx, network.CreateOptions{Name: "front"}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("duplicate create: %v, want ErrAlreadyExists", err)
	}
	if _, err := m.Create(ctx, network.CreateOptions{Name: "clash", Subnet: n.Subnet}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("overlapping subnet: %v, want ErrConflict", err)
	}
}

func TestInternalNetworkHasNoMasquerade(t *testing.T) {
	m, _ := newManager(t)
	n := createNet(t, m, network.CreateOptions{Name: "back", Internal: true})
	if nat := run(t, "iptables-save", "-t", "nat"); strings.Contains(nat, n.Subnet) || strings.Contains(nat, n.Bridge) {
		t.Fatalf("internal network %s has nat rules:\n%s", n.Name, nat)
	}
	filter := run(t, "iptables-save", "-t", "filter")
	for _, want := range []string{"-A BERTH-FORWARD -i " + n.Bridge + " ! -o " + n.Bridge + " -j DROP", "-A BERTH-FORWARD ! -i " + n.Bridge + " -o " + n.Bridge + " -j DROP"} {
		if !strings.Contains(filter, want) {
			t.Fatalf("filter rules lack %q:\n%s", want, filter)
		}
	}
}

func TestTwoRootsGetDistinctSubnetsAndBridges(t *testing.T) {
	m1, _ := newManager(t)
	m2, _ := newManager(t)
	ctx := context.Background()
	d1, err := m1.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.nets = append(made.nets, d1)
	made.Unlock()
	t.Cleanup(func() { m1.Remove(ctx, d1.ID); assertGone(t, d1) })
	d2, err := m2.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	made.Lock()
	made.nets = append(made.nets, d2)
	made.Unlock()
	t.Cleanup(func() { m2.Remove(ctx, d2.ID); assertGone(t, d2) })
	if d1.Name != "bridge" || d1.Bridge == d2.Bridge || d1.Subnet == d2.Subnet || d1.Bridge == network.DefaultBridge {
		t.Fatalf("defaults of two test roots: %+v and %+v: want distinct br-<id> bridges and subnets", d1, d2)
	}
	again, err := m1.EnsureDefault(ctx)
	if err != nil || again.ID != d1.ID {
		t.Fatalf("EnsureDefault again = %+v, %v; want the same network", again, err)
	}
}

func TestConcurrentRootsGetDistinctSubnets(t *testing.T) {
	const roots = 4
	ctx := context.Background()
	ms := make([]*network.Manager, roots)
	for i := range ms {
		ms[i], _ = newManager(t)
	}
	nets := make([]*network.Network, roots)
	var wg sync.WaitGroup
	for i := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := ms[i].EnsureDefault(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			nets[i] = n
			made.Lock()
			made.nets = append(made.nets, n)
			made.Unlock()
			t.Cleanup(func() { ms[i].Remove(ctx, n.ID); assertGone(t, n) })
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, n := range nets {
		if n == nil {
			t.FailNow()
		}
		if seen[n.Subnet] || seen[n.Bridge] {
			t.Fatalf("two roots share subnet %s or bridge %s", n.Subnet, n.Bridge)
		}
		seen[n.Subnet], seen[n.Bridge] = true, true
	}
}

func TestAttachRestoresDeletedBridge(t *testing.T) {
	m, _ := newManager(t)
	// A subnet outside the default pool: with its bridge deleted, the host
	// no longer routes it, and a test running beside this one could take a
	// pool subnet for its own bridge.
	b := randID(t)
	subnet := fmt.Sprintf("10.%d.%d.0/24", 200+int(b[0])%50, int(b[1])*7%256)
	n := createNet(t, m, network.CreateOptions{Name: "gone", Subnet: subnet})
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkDel(br); err != nil { // as after a reboot
		t.Fatal(err)
	}
	idA, pathA := newNetNS(t, m)
	idB, pathB := newNetNS(t, m)
	epA := attach(t, m, idA, pathA, "gone")
	attach(t, m, idB, pathB, "gone")
	serveEcho(t, pathA, net.JoinHostPort(epA.IP, "7001"))
	if got, err := echoFrom(t, pathB, net.JoinHostPort(epA.IP, "7001"), "back again"); err != nil || got != "back again" {
		t.Fatalf("B -> A over the restored bridge: %q, %v", got, err)
	}
	if nat := run(t, "iptables-save", "-t", "nat"); !strings.Contains(nat, "-s "+n.Subnet+" ! -o "+n.Bridge+" -j MASQUERADE") {
		t.Fatalf("masquerade rule not restored:\n%s", nat)
	}
}

func TestCreateRefusesExistingDevice(t *testing.T) {
	m, _ := newManager(t)
	ctx := context.Background()
	name := "bt" + randID(t)[:10]
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if l, err := netlink.LinkByName(name); err == nil {
			netlink.LinkDel(l)
		}
	}()
	_, err := m.Create(ctx, network.CreateOptions{Name: "adopt", Options: map[string]string{network.OptBridgeName: name}})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), name) {
		t.Fatalf("create on existing device %s: %v, want ErrConflict naming it", name, err)
	}
	if _, err := netlink.LinkByName(name); err != nil {
		t.Fatalf("the existing device was touched: %v", err)
	}
	if nets, _ := m.List(ctx); len(nets) != 0 {
		t.Fatalf("networks after a refused create: %+v", nets)
	}
}
