package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// usedNet is an IPv4 range that a new network must not overlap, and what
// holds it (for the error message).
type usedNet struct {
	net  *net.IPNet
	what string
}

// defaultPool is Docker's default address pool: 172.17.0.0/16 to
// 172.31.0.0/16, then 192.168.0.0/16 in /20 steps.
func defaultPool() []*net.IPNet {
	var pool []*net.IPNet
	for b := 17; b <= 31; b++ {
		pool = append(pool, &net.IPNet{IP: net.IPv4(172, byte(b), 0, 0).To4(), Mask: net.CIDRMask(16, 32)})
	}
	for c := 0; c < 256; c += 16 {
		pool = append(pool, &net.IPNet{IP: net.IPv4(192, 168, byte(c), 0).To4(), Mask: net.CIDRMask(20, 32)})
	}
	return pool
}

// overlaps reports whether two networks share any address.
func overlaps(a, b *net.IPNet) bool {
	return a.Contains(b.IP) || b.Contains(a.IP)
}

// chooseSubnet returns the subnet and gateway of a new network: the
// requested subnet (which must not overlap anything in used), or the first
// subnet of pool that overlaps nothing in used.
func chooseSubnet(subnet, gateway string, pool []*net.IPNet, used []usedNet) (*net.IPNet, net.IP, error) {
	if subnet == "" {
		if gateway != "" {
			return nil, nil, fmt.Errorf("gateway %s needs a subnet (--subnet): %w", gateway, errdefs.ErrInvalidArgument)
		}
		for _, cand := range pool {
			if firstOverlap(cand, used) == "" {
				return cand, nthIP(cand, 1), nil
			}
		}
		return nil, nil, fmt.Errorf("no free subnet left in the address pool: remove unused networks (berth network prune) or pass --subnet: %w", errdefs.ErrUnavailable)
	}
	ip, sn, err := net.ParseCIDR(subnet)
	if err != nil || ip.To4() == nil {
		return nil, nil, fmt.Errorf("subnet %q: not an IPv4 CIDR such as 172.28.0.0/16: %w", subnet, errdefs.ErrInvalidArgument)
	}
	sn.IP = sn.IP.To4()
	if ones, _ := sn.Mask.Size(); ones > 30 {
		return nil, nil, fmt.Errorf("subnet %s: too small, use a prefix of /30 or shorter: %w", sn, errdefs.ErrInvalidArgument)
	}
	if what := firstOverlap(sn, used); what != "" {
		return nil, nil, fmt.Errorf("subnet %s overlaps %s: pick another subnet: %w", sn, what, errdefs.ErrConflict)
	}
	gw := nthIP(sn, 1)
	if gateway != "" {
		gw = net.ParseIP(gateway).To4()
		if gw == nil || !sn.Contains(gw) || gw.Equal(sn.IP) || gw.Equal(broadcast(sn)) {
			return nil, nil, fmt.Errorf("gateway %q: not a host address in subnet %s: %w", gateway, sn, errdefs.ErrInvalidArgument)
		}
	}
	return sn, gw, nil
}

func firstOverlap(n *net.IPNet, used []usedNet) string {
	for _, u := range used {
		if overlaps(n, u.net) {
			return u.what
		}
	}
	return ""
}

// hostUsed lists the IPv4 ranges in use on the host: routes of every table
// (except default routes) and interface addresses. Bridges of other berth
// roots show up here too, which keeps roots from colliding.
func hostUsed() ([]usedNet, error) {
	links, err := dump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list host links: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	routes, err := dump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var used []usedNet
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.To4() == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones == 0 {
			continue
		}
		used = append(used, usedNet{net: r.Dst, what: fmt.Sprintf("route %s on the host (dev %s)", r.Dst, names[r.LinkIndex])})
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		n := &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask}
		used = append(used, usedNet{net: n, what: fmt.Sprintf("address %s on the host (dev %s)", a.IPNet, names[a.LinkIndex])})
	}
	return used, nil
}

// dump runs a netlink dump, again when the kernel reports that concurrent
// changes interrupted it (its results may then be incomplete, and a missed
// route would let two networks share a subnet).
func dump[T any](f func() ([]T, error)) ([]T, error) {
	for attempt := 0; ; attempt++ {
		out, err := f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
		if attempt == 20 {
			return nil, fmt.Errorf("netlink dump interrupted %d times by concurrent changes, try again: %w", attempt+1, errdefs.ErrUnavailable)
		}
	}
}

func ipToU32(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u32ToIP(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}

// nthIP returns the n-th address of n (0 is the network address).
func nthIP(n *net.IPNet, i uint32) net.IP { return u32ToIP(ipToU32(n.IP) + i) }

// broadcast returns the last address of n.
func broadcast(n *net.IPNet) net.IP {
	ones, bits := n.Mask.Size()
	return u32ToIP(ipToU32(n.IP) | (1<<uint(bits-ones) - 1))
}
