package network

import (
	"fmt"
	"net"

	"github.com/berth/berth/internal/errdefs"
)

// allocateIP picks an address in subnet for a new endpoint: static if
// given (it must be a free host address), otherwise the first free host
// address after last, wrapping around, so a just-released address is not
// handed out again at once. The network and broadcast addresses and the
// gateway are never handed out.
func allocateIP(subnet *net.IPNet, gateway net.IP, inUse map[string]bool, last, static string) (net.IP, error) {
	first, bcast := ipToU32(subnet.IP)+1, ipToU32(broadcast(subnet))
	if static != "" {
		ip := net.ParseIP(static).To4()
		if ip == nil || !subnet.Contains(ip) || ipToU32(ip) < first || ipToU32(ip) >= bcast {
			return nil, fmt.Errorf("address %q: not a host address in subnet %s: %w", static, subnet, errdefs.ErrInvalidArgument)
		}
		if ip.Equal(gateway) {
			return nil, fmt.Errorf("address %s is the network's gateway: %w", ip, errdefs.ErrConflict)
		}
		if inUse[ip.String()] {
			return nil, errdefs.Errorf(errdefs.ErrConflict, "address %s is already in use", ip)
		}
		return ip, nil
	}
	start := first
	if l := net.ParseIP(last).To4(); l != nil && subnet.Contains(l) && ipToU32(l)+1 < bcast {
		start = ipToU32(l) + 1
	}
	n := bcast - first // host addresses
	gw := ipToU32(gateway.To4())
	for i := uint32(0); i < n; i++ {
		v := start + i
		if v >= bcast {
			v = first + (v - bcast)
		}
		ip := u32ToIP(v)
		if v != gw && !inUse[ip.String()] {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("no free address left in subnet %s: %w", subnet, errdefs.ErrUnavailable)
}

// macFromIP derives a container MAC from its IPv4 address as Docker does:
// 02:42 followed by the four address bytes.
func macFromIP(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	return net.HardwareAddr{0x02, 0x42, v4[0], v4[1], v4[2], v4[3]}
}
