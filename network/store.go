package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/lockfile"
)

// state is the whole on-disk store of one berth root: every network with its
// IPAM bookkeeping and endpoints. It is small (a few records per container),
// so it is read and rewritten whole under the store lock.
type state struct {
	Networks map[string]*netRecord `json:"networks"` // by network id
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

// epRecord is an endpoint plus what berth needs to tear it down.
type epRecord struct {
	Endpoint
	HostIfName string `json:"hostIfName"`
	NetNSPath  string `json:"netnsPath"`
}

func (m *Manager) statePath() string { return filepath.Join(m.opts.Root, "networks.json") }
func (m *Manager) lockPath() string  { return filepath.Join(m.opts.Root, "networks.lock") }

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

// readStateLocked reads the state; the store lock must be held.
func (m *Manager) readStateLocked() (*state, error) {
	st := &state{}
	err := atomicfile.ReadJSON(m.statePath(), st)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read network store %s: %w (fix or remove the file)", m.statePath(), err)
	}
	if st.Networks == nil {
		st.Networks = map[string]*netRecord{}
	}
	for _, n := range st.Networks {
		if n.Endpoints == nil {
			n.Endpoints = map[string]*epRecord{}
		}
	}
	return st, nil
}

// writeStateLocked replaces the state file; the store lock must be held.
func (m *Manager) writeStateLocked(st *state) error {
	if err := atomicfile.WriteJSON(m.statePath(), st, 0o600); err != nil {
		return fmt.Errorf("write network store: %w", err)
	}
	return nil
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
