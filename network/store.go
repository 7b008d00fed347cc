package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/lockfile"
)

// state is the whole store of one berth root: every network with its IPAM
// bookkeeping and endpoints. It is small (a few records per container), so
// it is read and rewritten whole under the store lock. It lives in two
// files: the networks themselves in the data dir (networks.json, written
// durably: they outlive reboots), and the addresses and endpoints in the
// run dir (endpoints.json, written without fsync: they belong to running
// containers, so a reboot, which clears the run dir, makes them moot, and
// the containers' teardown forgets them anyway). A container start or
// removal then rewrites only endpoints.json.
type state struct {
	Networks map[string]*netRecord `json:"networks"` // by network id

	// netsJSON and epsJSON are the files as read, to write only the
	// part that changed.
	netsJSON, epsJSON []byte
}

// netRecord is a network plus its allocations.
type netRecord struct {
	Network
	// LastIP is the most recently handed-out address; allocation continues
	// after it so a released address is not reused at once.
	LastIP string `json:"lastIP,omitempty"`
	// Endpoints are keyed by container id.
	Endpoints map[string]*epRecord `json:"endpoints,omitempty"`
}

// netsFile is networks.json: the networks without their allocations.
type netsFile struct {
	Networks map[string]Network `json:"networks"`
}

// epsFile is endpoints.json: the allocations of each network.
type epsFile struct {
	Networks map[string]allocations `json:"networks"`
}

type allocations struct {
	LastIP    string               `json:"lastIP,omitempty"`
	Endpoints map[string]*epRecord `json:"endpoints,omitempty"`
}

// epRecord is an endpoint plus what berth needs to tear it down.
type epRecord struct {
	Endpoint
	HostIfName string `json:"hostIfName"`
	NetNSPath  string `json:"netnsPath"`
}

func (m *Manager) statePath() string     { return filepath.Join(m.opts.Root, "networks.json") }
func (m *Manager) endpointsPath() string { return filepath.Join(m.opts.RunRoot, "endpoints.json") }
func (m *Manager) lockPath() string      { return filepath.Join(m.opts.Root, "networks.lock") }

// storeMu queues the goroutines of this process for a store's flock, so
// that only one of them at a time waits for it in the kernel (each waiter
// holds a thread) and the others queue here.
var storeMu struct {
	sync.Mutex
	byPath map[string]*sync.RWMutex
}

func processLock(path string) *sync.RWMutex {
	storeMu.Lock()
	defer storeMu.Unlock()
	if storeMu.byPath == nil {
		storeMu.byPath = map[string]*sync.RWMutex{}
	}
	mu, ok := storeMu.byPath[path]
	if !ok {
		mu = &sync.RWMutex{}
		storeMu.byPath[path] = mu
	}
	return mu
}

// lockState takes the store lock and reads the state. The caller must call
// the returned unlock function.
func (m *Manager) lockState(ctx context.Context) (*state, func(), error) {
	mu := processLock(m.lockPath())
	mu.Lock()
	l, err := lockfile.Lock(ctx, m.lockPath())
	if err != nil {
		mu.Unlock()
		return nil, nil, fmt.Errorf("lock network store %s: %w", m.opts.Root, err)
	}
	unlock := func() { l.Unlock(); mu.Unlock() }
	st, err := m.readStateLocked()
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return st, unlock, nil
}

// readState reads the state under a shared lock.
func (m *Manager) readState(ctx context.Context) (*state, error) {
	mu := processLock(m.lockPath())
	mu.RLock()
	defer mu.RUnlock()
	l, err := lockfile.RLock(ctx, m.lockPath())
	if err != nil {
		return nil, fmt.Errorf("lock network store %s: %w", m.opts.Root, err)
	}
	defer l.Unlock()
	return m.readStateLocked()
}

// readStateLocked reads the state; the store lock must be held. A
// networks.json of an older berth holds the allocations too: they count
// until endpoints.json exists (the next write moves them there).
func (m *Manager) readStateLocked() (*state, error) {
	st := &state{Networks: map[string]*netRecord{}}
	data, err := os.ReadFile(m.statePath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read network store %s: %w", m.statePath(), err)
	}
	if err == nil {
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("read network store %s: %w (fix or remove the file)", m.statePath(), err)
		}
		st.netsJSON = data
	}
	if st.Networks == nil {
		st.Networks = map[string]*netRecord{}
	}
	var eps epsFile
	if data, err := os.ReadFile(m.endpointsPath()); err == nil && json.Unmarshal(data, &eps) == nil {
		st.epsJSON = data
		for id, n := range st.Networks {
			a := eps.Networks[id]
			n.LastIP, n.Endpoints = a.LastIP, a.Endpoints
		}
	}
	for _, n := range st.Networks {
		if n.Endpoints == nil {
			n.Endpoints = map[string]*epRecord{}
		}
	}
	return st, nil
}

// writeStateLocked writes the files whose part of the state changed; the
// store lock must be held. The allocations are written first: a network
// is never on disk without them being there.
func (m *Manager) writeStateLocked(st *state) error {
	nets := netsFile{Networks: map[string]Network{}}
	eps := epsFile{Networks: map[string]allocations{}}
	for id, n := range st.Networks {
		nets.Networks[id] = n.Network
		if n.LastIP != "" || len(n.Endpoints) > 0 {
			eps.Networks[id] = allocations{LastIP: n.LastIP, Endpoints: n.Endpoints}
		}
	}
	if data, err := marshal(eps); err != nil {
		return err
	} else if !bytes.Equal(data, st.epsJSON) {
		if err := atomicfile.WriteFileNoSync(m.endpointsPath(), data, 0o600); err != nil {
			return fmt.Errorf("write network store: %w", err)
		}
		st.epsJSON = data
	}
	if data, err := marshal(nets); err != nil {
		return err
	} else if !bytes.Equal(data, st.netsJSON) {
		if err := atomicfile.WriteFile(m.statePath(), data, 0o600); err != nil {
			return fmt.Errorf("write network store: %w", err)
		}
		st.netsJSON = data
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	return append(data, '\n'), err
}

// ensureDirs creates the store and runtime directories.
func (m *Manager) ensureDirs() error {
	for _, d := range []string{m.opts.Root, m.opts.RunRoot, m.opts.NetNSDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("network: %w", err)
		}
	}
	return nil
}
