package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// setupNetwork creates the network's bridge and rules. The host lock must
// be held.
func setupNetwork(ctx context.Context, n *Network) error {
	if _, _, err := ensureBridge(n); err != nil {
		return err
	}
	return setupRulesLocked(ctx, n)
}

// teardownNetwork removes the network's rules and bridge; missing pieces
// are fine. The host lock must be held.
func teardownNetwork(ctx context.Context, n *Network) error {
	err := teardownRulesLocked(ctx, n)
	if l, lerr := netlink.LinkByName(n.Bridge); lerr == nil {
		if derr := netlink.LinkDel(l); derr != nil && err == nil {
			err = fmt.Errorf("delete bridge %s: %w", n.Bridge, derr)
		}
	}
	return err
}

func mtuOf(n *Network) int {
	if v, err := strconv.Atoi(n.Options[OptMTU]); err == nil && v >= 576 {
		return v
	}
	return 1500
}

// ensureBridge returns the network's bridge, up and holding the gateway
// address, creating it if needed (created is then true). It is idempotent
// and safe when several processes race to create it.
func ensureBridge(n *Network) (l netlink.Link, created bool, err error) {
	sn, gw, err := parseSubnet(n)
	if err != nil {
		return nil, false, err
	}
	l, err = netlink.LinkByName(n.Bridge)
	if err == nil {
		if l.Type() != "bridge" {
			return nil, false, fmt.Errorf("device %s exists and is not a bridge: remove it or pick another bridge name: %w", n.Bridge, errdefs.ErrConflict)
		}
		if l.Attrs().Flags&net.FlagUp != 0 {
			return l, false, nil
		}
	} else {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, false, fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
		// A bridge without its own address takes the lowest MAC of its
		// ports, so it would change whenever a container joins and the
		// others would keep a stale gateway entry in their ARP cache (and
		// lose DNS until it expires). Fix it, as Docker does, from the
		// gateway address.
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, MTU: mtuOf(n), TxQLen: -1,
			HardwareAddr: macFromIP(gw)}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, false, fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
		if l, err = netlink.LinkByName(n.Bridge); err != nil {
			return nil, false, fmt.Errorf("bridge %s: %w", n.Bridge, err)
		}
		created = true
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw, Mask: sn.Mask}}
	if err := netlink.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, false, fmt.Errorf("bridge %s: add address %s: %w", n.Bridge, addr.IPNet, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return nil, false, fmt.Errorf("bridge %s: set up: %w", n.Bridge, err)
	}
	return l, created, nil
}

// restoreBridge brings back a network whose bridge is gone (after a
// reboot, or deleted by hand): bridge, address, and rules.
func restoreBridge(ctx context.Context, n *Network) (netlink.Link, error) {
	br, created, err := ensureBridge(n)
	if err != nil || !created {
		return br, err
	}
	hl, err := lockHost(ctx)
	if err != nil {
		return nil, err
	}
	defer hl.Unlock()
	return br, setupRulesLocked(ctx, n)
}
