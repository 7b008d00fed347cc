package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/layout"
)

// DefaultName is the name of the network containers join when they are run
// without --network.
const DefaultName = "bridge"

// DefaultBridge is the default network's bridge device with the default
// berth root. Other roots derive every bridge name from the network id.
const DefaultBridge = "berth0"

// Option keys understood by Create (Docker's names).
const (
	OptBridgeName = "com.docker.network.bridge.name"
	OptMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
	OptMTU        = "com.docker.network.driver.mtu"
)

// Options configures a Manager. The zero value uses the default berth root.
type Options struct {
	Root     string // network store: layout.Networks()
	RunRoot  string // runtime network state: layout.Network()
	NetNSDir string // bind-mounted netns files: layout.NetNS()
}

// Manager owns the bridge networks of one berth root.
type Manager struct {
	opts      Options
	isDefault bool // the default root: the default bridge is berth0
}

// Network is a bridge network.
type Network struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Driver   string            `json:"driver"`
	Subnet   string            `json:"subnet"`  // CIDR, e.g. 172.18.0.0/16
	Gateway  string            `json:"gateway"` // the bridge's address, e.g. 172.18.0.1
	Bridge   string            `json:"bridge"`  // bridge device name
	Internal bool              `json:"internal"`
	Labels   map[string]string `json:"labels,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	Created  time.Time         `json:"created"`
}

// CreateOptions describes a new network. Empty Subnet picks a free one from
// the pool; empty Gateway is the subnet's first address.
type CreateOptions struct {
	Name     string
	Subnet   string
	Gateway  string
	Internal bool
	Labels   map[string]string
	Options  map[string]string
}

// New returns a Manager for the directories in o.
func New(o Options) (*Manager, error) {
	def := layout.New("")
	if o.Root == "" {
		o.Root = def.Networks()
	}
	if o.RunRoot == "" {
		o.RunRoot = def.Network()
	}
	if o.NetNSDir == "" {
		o.NetNSDir = def.NetNS()
	}
	var err error
	for _, p := range []*string{&o.Root, &o.RunRoot, &o.NetNSDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	dflt := filepath.Join(layout.DefaultData, "network")
	return &Manager{opts: o, isDefault: o.Root == dflt}, nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Create makes a network: its record, its bridge with the gateway address,
// and its NAT and forwarding rules. A name in use is ErrAlreadyExists; a
// subnet overlapping another network or a host route is ErrConflict.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (*Network, error) {
	if !nameRE.MatchString(o.Name) {
		return nil, fmt.Errorf("network name %q: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", o.Name, errdefs.ErrInvalidArgument)
	}
	if o.Name == "host" || o.Name == "none" {
		return nil, fmt.Errorf("network %q is predefined and cannot be created: %w", o.Name, errdefs.ErrInvalidArgument)
	}
	return m.create(ctx, o, "")
}

// EnsureDefault returns the default "bridge" network, creating it first if
// needed.
func (m *Manager) EnsureDefault(ctx context.Context) (*Network, error) {
	if n, err := m.Get(ctx, DefaultName); err == nil {
		return n, nil
	}
	br := ""
	if m.isDefault {
		br = DefaultBridge
	}
	n, err := m.create(ctx, CreateOptions{Name: DefaultName}, br)
	if errdefs.Is(err, errdefs.ErrAlreadyExists) {
		return m.Get(ctx, DefaultName) // another process won the race
	}
	return n, err
}

func (m *Manager) create(ctx context.Context, o CreateOptions, bridge string) (*Network, error) {
	if err := m.ensureDirs(); err != nil {
		return nil, err
	}
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, n := range st.Networks {
		if n.Name == o.Name {
			return nil, fmt.Errorf("network with name %q: %w", o.Name, errdefs.ErrAlreadyExists)
		}
	}
	hl, err := lockHost(ctx)
	if err != nil {
		return nil, err
	}
	defer hl.Unlock()
	n, err := m.newNetwork(st, o, bridge)
	if err != nil {
		return nil, err
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		// Never adopt (and later delete) a device berth did not make, such
		// as docker0 or another root's bridge.
		return nil, fmt.Errorf("network %q: device %s exists already: pick another bridge name, or remove the device if it is a leftover (ip link delete %s): %w",
			o.Name, n.Bridge, n.Bridge, errdefs.ErrConflict)
	}
	if err := setupNetwork(ctx, n); err != nil {
		teardownNetwork(context.WithoutCancel(ctx), n)
		return nil, fmt.Errorf("network %q: %w", o.Name, err)
	}
	st.Networks[n.ID] = &netRecord{Network: *n, Endpoints: map[string]*epRecord{}}
	if err := m.writeStateLocked(st); err != nil {
		teardownNetwork(context.WithoutCancel(ctx), n)
		return nil, fmt.Errorf("network %q: %w", o.Name, err)
	}
	return n, nil
}

// newNetwork fills in a network record: id, subnet, gateway and bridge name.
// The store lock and the host lock must be held.
func (m *Manager) newNetwork(st *state, o CreateOptions, bridge string) (*Network, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	n := &Network{ID: id, Name: o.Name, Driver: "bridge", Internal: o.Internal,
		Labels: copyMap(o.Labels), Options: copyMap(o.Options), Created: time.Now().UTC()}
	if n.Bridge = o.Options[OptBridgeName]; n.Bridge == "" {
		n.Bridge = bridge
	}
	if n.Bridge == "" {
		n.Bridge = "br-" + id[:12]
	}
	if len(n.Bridge) > 15 {
		return nil, fmt.Errorf("bridge name %q: longer than 15 characters: %w", n.Bridge, errdefs.ErrInvalidArgument)
	}
	var used []usedNet
	for _, r := range st.Networks {
		if _, s, err := net.ParseCIDR(r.Subnet); err == nil {
			used = append(used, usedNet{net: s, what: fmt.Sprintf("network %q", r.Name)})
		}
	}
	host, err := hostUsed()
	if err != nil {
		return nil, err
	}
	used = append(used, host...)
	subnet, gw, err := chooseSubnet(o.Subnet, o.Gateway, defaultPool(), used)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", o.Name, err)
	}
	n.Subnet, n.Gateway = subnet.String(), gw.String()
	return n, nil
}

// Get returns a network by name, id, or unique id prefix.
func (m *Manager) Get(ctx context.Context, ref string) (*Network, error) {
	st, err := m.readState(ctx)
	if err != nil {
		return nil, err
	}
	r, err := resolve(st, ref)
	if err != nil {
		return nil, err
	}
	n := r.Network
	return &n, nil
}

// resolve finds a network in st by name, id, or unique id prefix.
func resolve(st *state, ref string) (*netRecord, error) {
	if ref == "" {
		return nil, fmt.Errorf("network name is empty: %w", errdefs.ErrInvalidArgument)
	}
	for _, n := range st.Networks {
		if n.Name == ref {
			return n, nil
		}
	}
	if n, ok := st.Networks[ref]; ok {
		return n, nil
	}
	var found []*netRecord
	for id, n := range st.Networks {
		if strings.HasPrefix(id, ref) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("network %q: %w: create it with 'berth network create'", ref, errdefs.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("network %q: id prefix matches %d networks, use more characters: %w", ref, len(found), errdefs.ErrInvalidArgument)
}

// List returns every network, sorted by name.
func (m *Manager) List(ctx context.Context) ([]*Network, error) {
	st, err := m.readState(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Network, 0, len(st.Networks))
	for _, r := range st.Networks {
		n := r.Network
		out = append(out, &n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a network, its bridge and its rules. While containers are
// attached it fails with ErrFailedPrecondition naming them. When no berth
// network remains on the host, berth's chains go too.
func (m *Manager) Remove(ctx context.Context, ref string) error {
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := resolve(st, ref)
	if err != nil {
		return err
	}
	if len(r.Endpoints) > 0 {
		var names []string
		for _, e := range r.Endpoints {
			names = append(names, e.displayName())
		}
		sort.Strings(names)
		return fmt.Errorf("network %q has active endpoints: %s: %w", r.Name, strings.Join(names, ", "), errdefs.ErrFailedPrecondition)
	}
	hl, err := lockHost(ctx)
	if err != nil {
		return err
	}
	defer hl.Unlock()
	if err := teardownNetwork(ctx, &r.Network); err != nil {
		return fmt.Errorf("network %q: %w", r.Name, err)
	}
	delete(st.Networks, r.ID)
	return m.writeStateLocked(st)
}

func (e *epRecord) displayName() string {
	if e.ContainerName != "" {
		return strings.TrimPrefix(e.ContainerName, "/")
	}
	return shortID(e.ContainerID)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("network id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
