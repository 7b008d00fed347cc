package dns

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// table is the lookup structure built from one snapshot. It is immutable
// once built and shared by every listener through an atomic pointer.
type table struct {
	serial    uint64
	byGateway map[[4]byte]*netTable
	subnets   []netip.Prefix // every berth subnet: reverse lookups inside stay local
	search    []string       // lower case, no leading or trailing dot
	upstreams []string       // "ip:port"
}

// netTable holds one network's names.
type netTable struct {
	name   string
	bridge string             // "" = any local interface
	names  map[string]*entry  // lower-case name without trailing dot
	ptr    map[[4]byte]string // address -> FQDN for PTR answers
}

// entry is every address one name has on one network.
type entry struct {
	ips [][4]byte
}

// hostDefaults are the upstreams and search domains used when the snapshot
// has none.
type hostDefaults struct {
	upstreams []string
	search    []string
}

// buildTable turns a snapshot into a lookup table. Malformed networks and
// records are skipped: a hand-edited file must not take the server down.
func buildTable(s Snapshot, def hostDefaults) *table {
	t := &table{serial: s.Serial, byGateway: map[[4]byte]*netTable{}}
	byName := map[string]*netTable{}
	for _, n := range s.Networks {
		gw, err := parseIPv4(n.Gateway)
		if err != nil {
			continue
		}
		nt := &netTable{name: n.Name, bridge: n.Bridge, names: map[string]*entry{}, ptr: map[[4]byte]string{}}
		t.byGateway[gw.As4()] = nt
		byName[n.Name] = nt
		if p, err := netip.ParsePrefix(n.Subnet); err == nil {
			t.subnets = append(t.subnets, p.Masked())
		}
	}
	for _, r := range s.Records {
		nt := byName[r.Network]
		ip, err := parseIPv4(r.IP)
		if nt == nil || err != nil {
			continue
		}
		a := ip.As4()
		for _, name := range r.Names {
			key := canonicalName(name)
			if key == "" {
				continue
			}
			e := nt.names[key]
			if e == nil {
				e = &entry{}
				nt.names[key] = e
			}
			if !containsIP(e.ips, a) {
				e.ips = append(e.ips, a)
			}
			if _, ok := nt.ptr[a]; !ok {
				nt.ptr[a] = key + "."
			}
		}
	}
	t.search = canonicalList(s.Search)
	if len(t.search) == 0 {
		t.search = canonicalList(def.search)
	}
	for _, u := range s.Upstreams {
		if hp, err := normalizeUpstream(u); err == nil {
			t.upstreams = append(t.upstreams, hp)
		}
	}
	if len(t.upstreams) == 0 {
		t.upstreams = def.upstreams
	}
	return t
}

// lookup finds name (canonical form) on nt, also with one search domain
// stripped from its end.
func (t *table) lookup(nt *netTable, name string) *entry {
	if nt == nil {
		return nil
	}
	if e := nt.names[name]; e != nil {
		return e
	}
	for _, s := range t.search {
		if len(name) > len(s)+1 && strings.HasSuffix(name, s) && name[len(name)-len(s)-1] == '.' {
			if e := nt.names[name[:len(name)-len(s)-1]]; e != nil {
				return e
			}
		}
	}
	return nil
}

// inBerthSubnet reports whether a is inside one of the snapshot's subnets.
func (t *table) inBerthSubnet(a [4]byte) bool {
	ip := netip.AddrFrom4(a)
	for _, p := range t.subnets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// canonicalName lower-cases name and drops a trailing dot.
func canonicalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

func canonicalList(in []string) []string {
	var out []string
	for _, s := range in {
		if c := strings.TrimPrefix(canonicalName(s), "."); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func containsIP(list [][4]byte, a [4]byte) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// parseIPv4 parses an IPv4 address (an IPv4-mapped IPv6 form is accepted).
func parseIPv4(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, err
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return ip, nil
}

// normalizeUpstream turns "ip" or "ip:port" ("[v6]:port" too) into
// "host:port".
func normalizeUpstream(u string) (string, error) {
	u = strings.TrimSpace(u)
	if ap, err := netip.ParseAddrPort(u); err == nil {
		return ap.String(), nil
	}
	ip, err := netip.ParseAddr(strings.Trim(u, "[]"))
	if err != nil {
		return "", fmt.Errorf("dns upstream %q: want ip or ip:port: %w", u, errdefs.ErrInvalidArgument)
	}
	return netip.AddrPortFrom(ip, 53).String(), nil
}
