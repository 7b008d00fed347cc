package dns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// testNet is a throwaway bridge with a gateway address chosen by the test
// and a network namespace plugged into it by a veth pair: the shape of a
// berth network with one container.
type testNet struct {
	Bridge   string
	Gateway  string // x.y.z.1
	Subnet   string // x.y.z.0/24
	ClientIP string // x.y.z.2, inside NS
	NS       ns.NetNS
}

// newTestNet creates the bridge, netns and veth, and removes them when the
// test ends (even if it fails).
func newTestNet(t testing.TB) *testNet {
	t.Helper()
	suffix := randHex(t, 3)
	prefix := freeSubnet(t)
	base := prefix.Addr().As4()
	gw := netip.AddrFrom4([4]byte{base[0], base[1], base[2], 1})
	client := netip.AddrFrom4([4]byte{base[0], base[1], base[2], 2})
	tn := &testNet{Bridge: "bdn" + suffix, Gateway: gw.String(), Subnet: prefix.String(), ClientIP: client.String()}

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: tn.Bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatalf("bridge %s: %v", tn.Bridge, err)
	}
	t.Cleanup(func() { netlink.LinkDel(br) })
	mustAddr(t, br, gw.String()+"/24")
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}

	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	tn.NS = netns
	t.Cleanup(func() {
		netns.Close()
		testutils.UnmountNS(netns)
	})
	host, peer := "bdv"+suffix, "bdp"+suffix
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index}, PeerName: peer}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("veth %s: %v", host, err)
	}
	t.Cleanup(func() { netlink.LinkDel(veth) })
	if err := netlink.LinkSetUp(veth); err != nil {
		t.Fatal(err)
	}
	pl, err := netlink.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(pl, int(netns.Fd())); err != nil {
		t.Fatal(err)
	}
	err = netns.Do(func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		l, err := netlink.LinkByName(peer)
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr(client.String() + "/24")
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		t.Fatalf("netns setup: %v", err)
	}
	return tn
}

func mustAddr(t testing.TB, l netlink.Link, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(l, a); err != nil {
		t.Fatalf("address %s: %v", cidr, err)
	}
}

func randHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freeSubnet picks a random 10.2xx.y.0/24 that no route on the host
// overlaps.
func freeSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		b := make([]byte, 2)
		rand.Read(b)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200 + b[0]%50, b[1], 0}), 24)
		clash := false
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			rp, ok := netip.AddrFromSlice(r.Dst.IP.To4())
			ones, _ := r.Dst.Mask.Size()
			if ok && ones > 0 && netip.PrefixFrom(rp, ones).Overlaps(p) {
				clash = true
			}
		}
		if !clash {
			return p
		}
	}
	t.Fatal("no free subnet")
	return netip.Prefix{}
}

// dialIn opens a connection from inside the namespace; the socket stays
// in it when used from other goroutines.
func (tn *testNet) dialIn(t testing.TB, network, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	err := tn.NS.Do(func(ns.NetNS) error {
		var err error
		c, err = net.Dial(network, addr)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s %s in netns: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// netView is the snapshot entry of tn.
func (tn *testNet) netView(name string) NetworkView {
	return NetworkView{Name: name, Gateway: tn.Gateway, Subnet: tn.Subnet}
}

func (tn *testNet) String() string { return fmt.Sprintf("%s %s", tn.Bridge, tn.Subnet) }
