package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/coreos/go-iptables/iptables"

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
const (
	chainForward = "BERTH-FORWARD"
	chainNAT     = "BERTH-POSTROUTING"
)

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

var (
	iptOnce sync.Once
	ipt     *iptables.IPTables
	iptErr  error
)

func getIPT() (*iptables.IPTables, error) {
	iptOnce.Do(func() {
		ipt, iptErr = iptables.NewWithProtocol(iptables.ProtocolIPv4)
		if iptErr != nil {
			iptErr = fmt.Errorf("iptables: %w: install iptables: %w", iptErr, errdefs.ErrUnavailable)
		}
	})
	return ipt, iptErr
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
		rule{table: "filter", chain: chainForward, spec: []string{"-i", br, "!", "-o", br, "-j", "ACCEPT"}},
		rule{table: "filter", chain: chainForward, spec: []string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}})
	if n.Options[OptMasquerade] != "false" {
		rs = append(rs, rule{table: "nat", chain: chainNAT, spec: []string{"-s", n.Subnet, "!", "-o", br, "-j", "MASQUERADE"}})
	}
	return rs
}

// ensureChains creates berth's chains and the jumps to them. The host lock
// must be held.
func ensureChainsLocked(t *iptables.IPTables) error {
	for _, c := range []struct{ table, parent, chain string }{
		{"filter", "FORWARD", chainForward}, {"nat", "POSTROUTING", chainNAT},
	} {
		ok, err := t.ChainExists(c.table, c.chain)
		if err != nil {
			return fmt.Errorf("iptables -t %s: %w", c.table, err)
		}
		if !ok {
			if err := t.NewChain(c.table, c.chain); err != nil {
				return fmt.Errorf("iptables -t %s -N %s: %w", c.table, c.chain, err)
			}
		}
		if err := t.InsertUnique(c.table, c.parent, 1, "-j", c.chain); err != nil {
			return fmt.Errorf("iptables -t %s -I %s -j %s: %w", c.table, c.parent, c.chain, err)
		}
	}
	return nil
}

// setupRulesLocked adds a network's rules; the host lock must be held.
func setupRulesLocked(n *Network) error {
	t, err := getIPT()
	if err != nil {
		return err
	}
	if err := ensureChainsLocked(t); err != nil {
		return err
	}
	for _, r := range networkRules(n) {
		if r.first {
			err = t.InsertUnique(r.table, r.chain, 1, r.spec...)
		} else {
			err = t.AppendUnique(r.table, r.chain, r.spec...)
		}
		if err != nil {
			return fmt.Errorf("iptables -t %s %s %v: %w", r.table, r.chain, r.spec, err)
		}
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

// teardownRulesLocked removes a network's rules; the host lock must be
// held. Missing rules and chains are fine.
func teardownRulesLocked(n *Network) error {
	t, err := getIPT()
	if err != nil {
		return err
	}
	var first error
	for _, r := range networkRules(n) {
		if ok, _ := t.ChainExists(r.table, r.chain); !ok {
			continue
		}
		if err := t.DeleteIfExists(r.table, r.chain, r.spec...); err != nil && first == nil {
			first = fmt.Errorf("iptables -t %s -D %s %v: %w", r.table, r.chain, r.spec, err)
		}
	}
	return first
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
	return cleanupLocked()
}

// cleanupLocked is Cleanup with the host lock held.
func cleanupLocked() error {
	t, err := getIPT()
	if err != nil {
		return err
	}
	filterEmpty, err := chainEmpty(t, "filter", chainForward)
	if err != nil {
		return err
	}
	natEmpty, err := chainEmpty(t, "nat", chainNAT)
	if err != nil || !filterEmpty || !natEmpty {
		return err
	}
	for _, c := range []struct{ table, parent, chain string }{
		{"filter", "FORWARD", chainForward}, {"nat", "POSTROUTING", chainNAT},
	} {
		if ok, _ := t.ChainExists(c.table, c.chain); !ok {
			continue
		}
		if err := t.DeleteIfExists(c.table, c.parent, "-j", c.chain); err != nil {
			return fmt.Errorf("iptables -t %s -D %s -j %s: %w", c.table, c.parent, c.chain, err)
		}
		if err := t.DeleteChain(c.table, c.chain); err != nil {
			return fmt.Errorf("iptables -t %s -X %s: %w", c.table, c.chain, err)
		}
	}
	return nil
}

// chainEmpty reports whether chain has no rules (a missing chain is empty).
func chainEmpty(t *iptables.IPTables, table, chain string) (bool, error) {
	ok, err := t.ChainExists(table, chain)
	if err != nil || !ok {
		return true, err
	}
	rules, err := t.List(table, chain)
	if err != nil {
		return false, fmt.Errorf("iptables -t %s -S %s: %w", table, chain, err)
	}
	return len(rules) <= 1, nil // "-N CHAIN" only
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
