package network

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// PortMapping publishes a container port on the host. HostIP "" means
// every address (0.0.0.0 and, when the host has IPv6, ::); HostPort 0 means
// an ephemeral port chosen at bind time.
type PortMapping struct {
	HostIP        string `json:"hostIP"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"` // "tcp" or "udp"
}

// String formats m like Docker's port output: 127.0.0.1:8080->80/tcp.
func (m PortMapping) String() string {
	ip := m.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s->%d/%s", net.JoinHostPort(ip, strconv.Itoa(m.HostPort)), m.ContainerPort, m.Proto)
}

// ParsePorts parses docker -p specs:
// [ip:][hostPort:]containerPort[/proto], with ranges such as
// "8000-8001:80-81"; an empty host port ("127.0.0.1::80" or "80") is
// ephemeral. IPv6 host addresses go in brackets: "[::1]:8080:80".
func ParsePorts(specs []string) ([]PortMapping, error) {
	var out []PortMapping
	for _, s := range specs {
		ms, err := parsePort(s)
		if err != nil {
			return nil, fmt.Errorf("port spec %q: %w", s, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

func parsePort(spec string) ([]PortMapping, error) {
	rest, proto := spec, "tcp"
	if i := strings.LastIndex(spec, "/"); i >= 0 {
		rest, proto = spec[:i], strings.ToLower(spec[i+1:])
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("protocol %q: only tcp and udp are supported: %w", proto, errdefs.ErrInvalidArgument)
	}
	ip, hostPart, ctrPart, err := splitPortSpec(rest)
	if err != nil {
		return nil, err
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("host address %q: not an IP address: %w", ip, errdefs.ErrInvalidArgument)
	}
	cLo, cHi, err := parseRange(ctrPart)
	if err != nil {
		return nil, err
	}
	hLo, hHi := 0, 0
	if hostPart != "" {
		if hLo, hHi, err = parseRange(hostPart); err != nil {
			return nil, err
		}
		if hHi-hLo != cHi-cLo {
			return nil, fmt.Errorf("host port range %s and container port range %s differ in length: %w", hostPart, ctrPart, errdefs.ErrInvalidArgument)
		}
	}
	var out []PortMapping
	for i := 0; i <= cHi-cLo; i++ {
		m := PortMapping{HostIP: ip, ContainerPort: cLo + i, Proto: proto}
		if hLo != 0 {
			m.HostPort = hLo + i
		}
		out = append(out, m)
	}
	return out, nil
}

// splitPortSpec splits "[ip:][host:]container" into its parts.
func splitPortSpec(s string) (ip, host, ctr string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || len(s) < end+2 || s[end+1] != ':' {
			return "", "", "", fmt.Errorf("bad bracketed address: %w", errdefs.ErrInvalidArgument)
		}
		ip, s = s[1:end], s[end+2:]
		parts := strings.Split(s, ":")
		if len(parts) != 2 {
			return "", "", "", fmt.Errorf("want [ip]:hostPort:containerPort: %w", errdefs.ErrInvalidArgument)
		}
		return ip, parts[0], parts[1], nil
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		return "", "", parts[0], nil
	case 2:
		return "", parts[0], parts[1], nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", fmt.Errorf("want [ip:][hostPort:]containerPort[/proto] (IPv6 addresses in brackets): %w", errdefs.ErrInvalidArgument)
}

// parseRange parses "80" or "8000-8010".
func parseRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePortNum(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePortNum(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("port range %s: end before start: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	return lo, hi, nil
}

func parsePortNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: want a number from 1 to 65535: %w", s, errdefs.ErrInvalidArgument)
	}
	return n, nil
}
