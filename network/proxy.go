package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/portproxy"
)

// PublishPorts binds every host socket of ports now, then proxies TCP
// connections and UDP datagrams to targetIP:ContainerPort until the
// returned Closer is closed. A port in use by anything fails with
// ErrConflict naming it, and nothing stays bound. The returned mappings
// carry the ports actually bound (ephemeral ones filled in).
func PublishPorts(ctx context.Context, ports []PortMapping, targetIP string) (io.Closer, []PortMapping, error) {
	p, out, err := BindPorts(ctx, ports, targetIP)
	if err != nil {
		return nil, nil, err
	}
	p.Serve()
	return p, out, nil
}

// BindPorts is PublishPorts without the serving: the returned proxy holds
// the bound sockets and proxies from its Serve (the monitor serves them,
// possibly after handing them to its small steady-state binary).
func BindPorts(ctx context.Context, ports []PortMapping, targetIP string) (*portproxy.Proxy, []PortMapping, error) {
	target := net.ParseIP(targetIP)
	if target == nil {
		return nil, nil, fmt.Errorf("publish ports: target %q is not an IP address: %w", targetIP, errdefs.ErrInvalidArgument)
	}
	out := make([]PortMapping, 0, len(ports))
	var all []portproxy.Port
	for _, m := range ports {
		ls, port, err := bindMapping(ctx, m)
		if err != nil {
			for _, b := range all {
				b.L.Close()
			}
			return nil, nil, err
		}
		for _, l := range ls {
			all = append(all, portproxy.Port{L: l, Target: target, Port: m.ContainerPort})
		}
		m.HostPort = port
		out = append(out, m)
	}
	return portproxy.New(all), out, nil
}

// bindMapping binds the host sockets of one mapping and returns them with
// the host port bound.
func bindMapping(ctx context.Context, m PortMapping) ([]io.Closer, int, error) {
	addrs := []string{m.HostIP}
	optional := map[string]bool{}
	if m.HostIP == "" {
		addrs = []string{"0.0.0.0", "::"}
		optional["::"] = true // hosts without IPv6 just skip it
	}
	port := m.HostPort
	var ls []io.Closer
	for _, a := range addrs {
		l, err := bindOne(ctx, m.Proto, a, port)
		if err != nil {
			if optional[a] && (m.HostPort == 0 || !errors.Is(err, syscall.EADDRINUSE)) {
				continue
			}
			for _, l := range ls {
				l.Close()
			}
			hp := strconv.Itoa(m.HostPort)
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, 0, errdefs.Errorf(errdefs.ErrConflict, "bind %s/%s: port is already in use", net.JoinHostPort(a, hp), m.Proto)
			}
			return nil, 0, fmt.Errorf("bind %s/%s: %w", net.JoinHostPort(a, hp), m.Proto, err)
		}
		ls = append(ls, l)
		if port == 0 {
			port = localPort(l)
		}
	}
	return ls, port, nil
}

func bindOne(ctx context.Context, proto, ip string, port int) (io.Closer, error) {
	family := "4"
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		family = "6" // tcp6/udp6 listeners are IPV6_V6ONLY, so :: and 0.0.0.0 coexist
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	var lc net.ListenConfig
	if proto == "udp" {
		return lc.ListenPacket(ctx, "udp"+family, addr)
	}
	return lc.Listen(ctx, "tcp"+family, addr)
}

func localPort(l io.Closer) int {
	switch l := l.(type) {
	case net.Listener:
		return l.Addr().(*net.TCPAddr).Port
	case net.PacketConn:
		return l.LocalAddr().(*net.UDPAddr).Port
	}
	return 0
}
