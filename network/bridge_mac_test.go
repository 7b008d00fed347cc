package network_test

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/berth/berth/network"
)

// The bridge keeps one MAC, derived from its gateway, however many
// containers join: otherwise the first containers keep a stale gateway MAC
// in their ARP cache and lose the gateway (and DNS) until it expires.
func TestBridgeMACStableAcrossJoins(t *testing.T) {
	m, _ := newManager(t)
	n := createNet(t, m, network.CreateOptions{Name: "mac", Subnet: "10.213.9.0/24", Gateway: "10.213.9.1"})
	want := net.HardwareAddr{0x02, 0x42, 10, 213, 9, 1}
	for i := 0; i < 3; i++ {
		id, path := newNetNS(t, m)
		attach(t, m, id, path, "mac")
		l, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Attrs().HardwareAddr; got.String() != want.String() {
			t.Fatalf("after %d joins bridge %s has MAC %s, want %s", i+1, n.Bridge, got, want)
		}
	}
}
