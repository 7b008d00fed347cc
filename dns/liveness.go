package dns

import (
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// gatewayLive reports whether gw is configured on bridge or, when bridge
// is "", is a local address of the host (the kernel accepts a bind to it
// without IP_FREEBIND).
func gatewayLive(gw [4]byte, bridge string) bool {
	if bridge == "" {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return false
		}
		defer unix.Close(fd)
		return unix.Bind(fd, &unix.SockaddrInet4{Addr: gw}) == nil
	}
	ifi, err := net.InterfaceByName(bridge)
	if err != nil {
		return false
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	ip := net.IP(gw[:])
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// interfaceWith returns the name of the interface that has gw as one of
// its addresses, or "".
func interfaceWith(gw [4]byte) string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	ip := net.IP(gw[:])
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return ifi.Name
			}
		}
	}
	return ""
}

// portTaken reports whether some socket of this network namespace is bound
// to gw:port over UDP, or listens on it over TCP. The server asks only for
// addresses it does not serve itself, so a hit is another process: most
// likely the server of another berth root whose network has the same
// gateway, which SO_REUSEPORT would otherwise let share the queries.
func portTaken(gw [4]byte, port int) bool {
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", gw[3], gw[2], gw[1], gw[0], port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/tcp"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 3 && fields[1] == local && (f == "/proc/net/udp" || fields[3] == "0A") {
				return true
			}
		}
	}
	return false
}
