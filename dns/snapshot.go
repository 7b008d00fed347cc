package dns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// File names inside the DNS directory.
const (
	recordsFile = "records.json"
	updateLock  = "records.lock"
	serverLock  = "dns.lock"
	pidFile     = "dns.pid"
	loadedFile  = "loaded"
	ensureLock  = "ensure.lock"
	upstreamEnv = "BERTH_DNS_UPSTREAM"
	defaultTTL  = 0
)

// NetworkView is one berth network as the DNS server sees it: the server
// listens on Gateway and answers names of this network only there.
type NetworkView struct {
	Name    string `json:"name"`
	Gateway string `json:"gateway"`          // IPv4 address of the bridge
	Subnet  string `json:"subnet,omitempty"` // CIDR; PTR queries inside it never leave berth
	// Bridge is the network's bridge device. When set, the server listens
	// only while Gateway is on that device, so a server whose bridge was
	// deleted (and perhaps re-made by another root with the same address)
	// lets go. When empty, any local interface holding Gateway will do.
	Bridge string `json:"bridge,omitempty"`
}

// Record maps the names of one endpoint (container name, aliases, compose
// service name) to its address on one network.
type Record struct {
	Network string   `json:"network"`
	Names   []string `json:"names"`
	IP      string   `json:"ip"`
}

// Snapshot is the whole record set. It is written as a unit and never
// modified in place.
type Snapshot struct {
	// Serial increases with every write; WriteSnapshot sets it.
	Serial    uint64        `json:"serial"`
	Networks  []NetworkView `json:"networks"`
	Records   []Record      `json:"records"`
	Upstreams []string      `json:"upstreams,omitempty"` // "ip" or "ip:port"; empty = server's default
	Search    []string      `json:"search,omitempty"`    // search domains stripped from queried names
}

// ReadSnapshot returns the snapshot stored in dir; a missing file is an
// empty snapshot.
func ReadSnapshot(dir string) (Snapshot, error) {
	var s Snapshot
	data, err := os.ReadFile(filepath.Join(dir, recordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("dns records in %s: %w", dir, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("dns records in %s: %v: %w (remove the file; the engine rewrites it)", dir, err, errdefs.ErrInvalidArgument)
	}
	return s, nil
}

// WriteSnapshot atomically replaces the snapshot in dir with s (its Serial
// is set to one more than the stored one), without fsync: dir is under the
// run dir, and the engine rewrites the snapshot from its records. A running server picks it up
// without re-binding its sockets. Callers that may race other writers
// should use Update, or hold their own lock.
func WriteSnapshot(dir string, s Snapshot) error {
	if err := s.validate(); err != nil {
		return err
	}
	old, err := ReadSnapshot(dir)
	if err != nil {
		old = Snapshot{}
	}
	s.Serial = old.Serial + 1
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("dns directory %s: %w", dir, err)
	}
	if err := atomicfile.WriteJSONNoSync(filepath.Join(dir, recordsFile), s, 0o644); err != nil {
		return fmt.Errorf("write dns records in %s: %w", dir, err)
	}
	return nil
}

// Update read-modify-writes the snapshot in dir under a lock (records.lock)
// so that concurrent berth processes never lose each other's changes.
func Update(ctx context.Context, dir string, fn func(*Snapshot) error) error {
	l, err := lockfile.Lock(ctx, filepath.Join(dir, updateLock))
	if err != nil {
		return fmt.Errorf("lock dns records in %s: %w", dir, err)
	}
	defer l.Unlock()
	s, err := ReadSnapshot(dir)
	if err != nil {
		return err
	}
	before, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := fn(&s); err != nil {
		return err
	}
	// An unchanged snapshot is not written again: a write wakes the
	// server, which reloads and reconciles its listeners (a container
	// stop and its removal both refresh, and only the first changes
	// anything).
	if after, err := json.Marshal(s); err == nil && bytes.Equal(before, after) {
		return nil
	}
	return WriteSnapshot(dir, s)
}

// validate rejects snapshots the server could not serve.
func (s *Snapshot) validate() error {
	gws := map[string]string{}
	for _, n := range s.Networks {
		if n.Name == "" {
			return fmt.Errorf("dns snapshot: network without a name: %w", errdefs.ErrInvalidArgument)
		}
		ip, err := parseIPv4(n.Gateway)
		if err != nil {
			return fmt.Errorf("dns snapshot: network %q gateway %q: %w", n.Name, n.Gateway, errdefs.ErrInvalidArgument)
		}
		if other, ok := gws[ip.String()]; ok && other != n.Name {
			return fmt.Errorf("dns snapshot: networks %q and %q share gateway %s: %w", other, n.Name, n.Gateway, errdefs.ErrInvalidArgument)
		}
		gws[ip.String()] = n.Name
	}
	for _, r := range s.Records {
		if _, err := parseIPv4(r.IP); err != nil {
			return fmt.Errorf("dns snapshot: record %q on network %q: ip %q: %w", strings.Join(r.Names, ","), r.Network, r.IP, errdefs.ErrInvalidArgument)
		}
	}
	for _, u := range s.Upstreams {
		if _, err := normalizeUpstream(u); err != nil {
			return err
		}
	}
	return nil
}
