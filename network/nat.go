package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// Why iptables and not a table of berth's own in nftables: hosts that run
// Docker set the FORWARD policy of the "filter" table to DROP. In nftables a
// packet dropped by any base chain is gone, whatever another table accepted,
// so an ACCEPT in an "inet berth" table could not get berth's traffic past
// Docker's policy. iptables (iptables-nft on this host, iptables-legacy
// elsewhere) writes into the very FORWARD chain Docker uses, so berth
// inserts a jump to a chain of its own (BERTH-FORWARD) there and coexists
// with Docker's chains, which it never touches. NAT works the same way with
// BERTH-POSTROUTING in the nat table.
//
// Like Docker, berth isolates its bridge networks from each other: traffic
// routed from one berth bridge to another goes through BERTH-ISOLATION,
// which drops it. Containers that must talk share a network.
const (
	chainForward   = "BERTH-FORWARD"
	chainIsolation = "BERTH-ISOLATION"
	chainNAT       = "BERTH-POSTROUTING"
)

// berthChains are berth's chains, with the built-in chain that jumps to
// each ("" = only berth's own rules jump there), in creation order.
var berthChains = []struct{ table, parent, chain string }{
	{"filter", "", chainIsolation},
	{"filter", "FORWARD", chainForward},
	{"nat", "POSTROUTING", chainNAT},
}

// HostLockPath is the host-wide lock berth processes of every root take
// while they pick subnets, create bridges, or change berth's iptables
// chains: those are global to the host, not to one root.
var HostLockPath = "/run/berth-network.lock"

// hostLock is the held host-wide lock.
type hostLock struct {
	l  *lockfile.Handle
	mu *sync.RWMutex
}

// Unlock releases the host lock.
func (h *hostLock) Unlock() {
	h.l.Unlock()
	h.mu.Unlock()
}

func lockHost(ctx context.Context) (*hostLock, error) {
	mu := processLock(HostLockPath)
	mu.Lock()
	l, err := lockfile.Lock(ctx, HostLockPath)
	if err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("lock %s: %w", HostLockPath, err)
	}
	return &hostLock{l: l, mu: mu}, nil
}

type rule struct {
	table, chain string
	first        bool // insert at the top (drops before accepts)
	spec         []string
}

// networkRules are the filter and nat rules of one network.
func networkRules(n *Network) []rule {
	br := n.Bridge
	rs := []rule{{table: "filter", chain: chainForward, spec: []string{"-i", br, "-o", br, "-j", "ACCEPT"}}}
	if n.Internal {
		// No way in or out of the bridge: containers only see each other.
		return append(rs,
			rule{table: "filter", chain: chainForward, first: true, spec: []string{"-i", br, "!", "-o", br, "-j", "DROP"}},
			rule{table: "filter", chain: chainForward, first: true, spec: []string{"!", "-i", br, "-o", br, "-j", "DROP"}})
	}
	rs = append(rs,
		// Leaving the bridge for another berth bridge: dropped there.
		rule{table: "filter", chain: chainForward, first: true, spec: []string{"-i", br, "!", "-o", br, "-j", chainIsolation}},
		rule{table: "filter", chain: chainIsolation, spec: []string{"-o", br, "-j", "DROP"}},
		rule{table: "filter", chain: chainForward, spec: []string{"-i", br, "!", "-o", br, "-j", "ACCEPT"}},
		rule{table: "filter", chain: chainForward, spec: []string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}})
	if n.Options[OptMasquerade] != "false" {
		rs = append(rs, rule{table: "nat", chain: chainNAT, spec: []string{"-s", n.Subnet, "!", "-o", br, "-j", "MASQUERADE"}})
	}
	return rs
}

// setupRulesLocked adds a network's rules (and berth's chains); the host
// lock must be held.
func setupRulesLocked(ctx context.Context, n *Network) error {
	rs, err := loadRuleset(ctx)
	if err != nil {
		return err
	}
	if err := apply(ctx, setupScript(rs, n)); err != nil {
		return err
	}
	if !n.Internal {
		// Routing between the bridge and the outside needs forwarding on.
		// berth turns it on for the host (as Docker does) and never turns
		// it off again: other software may rely on it by then.
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("enable net.ipv4.ip_forward: %w", err)
		}
	}
	return nil
}

// teardownRulesLocked removes a network's rules, and berth's chains when no
// rules remain in them; the host lock must be held. Missing rules are fine.
func teardownRulesLocked(ctx context.Context, n *Network) error {
	rs, err := loadRuleset(ctx)
	if err != nil {
		return err
	}
	return apply(ctx, teardownScript(rs, n))
}

// Cleanup removes berth's chains (and the jumps to them) when no berth
// network of any root has rules in them any more. It is safe to call at any
// time.
func Cleanup(ctx context.Context) error {
	hl, err := lockHost(ctx)
	if err != nil {
		return err
	}
	defer hl.Unlock()
	rs, err := loadRuleset(ctx)
	if err != nil {
		return err
	}
	s := &script{}
	cleanupScript(rs, s)
	return apply(ctx, s)
}

// parseSubnet returns the network and gateway of n.
func parseSubnet(n *Network) (*net.IPNet, net.IP, error) {
	_, sn, err := net.ParseCIDR(n.Subnet)
	if err != nil {
		return nil, nil, fmt.Errorf("network %q: bad subnet %q in store: %w", n.Name, n.Subnet, errdefs.ErrFailedPrecondition)
	}
	gw := net.ParseIP(n.Gateway).To4()
	if gw == nil {
		return nil, nil, fmt.Errorf("network %q: bad gateway %q in store: %w", n.Name, n.Gateway, errdefs.ErrFailedPrecondition)
	}
	sn.IP = sn.IP.To4()
	return sn, gw, nil
}
