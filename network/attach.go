package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// AttachOptions connects a container's netns to a network. IP and MAC are
// optional (allocated / derived from the IP); IfName defaults to the next
// free ethN of the container.
type AttachOptions struct {
	ContainerID   string
	ContainerName string
	NetNSPath     string
	Network       string // name, id or id prefix
	Aliases       []string
	IP            string
	MAC           string
	IfName        string
}

// Endpoint is a container's interface on one network.
type Endpoint struct {
	ContainerID   string   `json:"containerID"`
	ContainerName string   `json:"containerName"`
	Network       string   `json:"network"`
	NetworkID     string   `json:"networkID"`
	IfName        string   `json:"ifName"`
	IP            string   `json:"ip"`
	Gateway       string   `json:"gateway"`
	MAC           string   `json:"mac"`
	PrefixLen     int      `json:"prefixLen"`
	Aliases       []string `json:"aliases,omitempty"`
}

// Attach connects the container to a network: a veth pair whose host side
// is on the network's bridge and whose other side is IfName in the
// container's netns, with an address from the network's IPAM and, for the
// container's first non-internal network, the default route. Attaching
// again returns the existing endpoint. On failure nothing is left behind.
// An address in use is ErrConflict; a full subnet ErrUnavailable.
func (m *Manager) Attach(ctx context.Context, o AttachOptions) (*Endpoint, error) {
	if err := checkID(o.ContainerID); err != nil {
		return nil, err
	}
	if o.NetNSPath == "" {
		return nil, fmt.Errorf("attach %s: no netns path: %w", shortID(o.ContainerID), errdefs.ErrInvalidArgument)
	}
	res, err := m.reserve(ctx, o)
	if err != nil {
		return nil, err
	}
	rec, n := res.rec, res.n
	if res.existed && linkInNetNS(rec.NetNSPath, rec.IfName) {
		ep := rec.Endpoint
		return &ep, nil
	}
	if err := plumb(ctx, n, rec, res.route); err != nil {
		deleteLink(rec.HostIfName)
		if !res.existed {
			m.release(context.WithoutCancel(ctx), rec)
		}
		return nil, fmt.Errorf("attach %s to network %q: %w", rec.displayName(), n.Name, err)
	}
	ep := rec.Endpoint
	return &ep, nil
}

// reservation is an endpoint recorded by reserve.
type reservation struct {
	rec     *epRecord
	n       *Network
	route   bool // add the default route
	existed bool // the endpoint was recorded before
}

// reserve records the endpoint and its address under the store lock.
func (m *Manager) reserve(ctx context.Context, o AttachOptions) (*reservation, error) {
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := resolve(st, o.Network)
	if err != nil {
		return nil, err
	}
	nw := r.Network
	if e, ok := r.Endpoints[o.ContainerID]; ok {
		if refreshEndpoint(e, o) {
			if err := m.writeStateLocked(st); err != nil {
				return nil, err
			}
		}
		c := *e
		return &reservation{rec: &c, n: &nw, route: !nw.Internal && !hasDefaultRoute(st, o.ContainerID, r.ID), existed: true}, nil
	}
	rec, err := newEndpoint(st, r, o)
	if err != nil {
		return nil, err
	}
	route := !nw.Internal && !hasDefaultRoute(st, o.ContainerID, r.ID)
	if o.IP == "" {
		r.LastIP = rec.IP
	}
	r.Endpoints[o.ContainerID] = rec
	if err := m.writeStateLocked(st); err != nil {
		return nil, err
	}
	c := *rec
	return &reservation{rec: &c, n: &nw, route: route}, nil
}

// newEndpoint allocates an address (and interface name, MAC) for a new
// endpoint of the container on r. The store lock must be held.
func newEndpoint(st *state, r *netRecord, o AttachOptions) (*epRecord, error) {
	sn, gw, err := parseSubnet(&r.Network)
	if err != nil {
		return nil, err
	}
	inUse := map[string]bool{}
	for _, e := range r.Endpoints {
		inUse[e.IP] = true
	}
	ip, err := allocateIP(sn, gw, inUse, r.LastIP, o.IP)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", r.Name, err)
	}
	mac := macFromIP(ip)
	if o.MAC != "" {
		if mac, err = net.ParseMAC(o.MAC); err != nil {
			return nil, fmt.Errorf("mac address %q: %w", o.MAC, errdefs.ErrInvalidArgument)
		}
	}
	ones, _ := sn.Mask.Size()
	rec := &epRecord{
		Endpoint: Endpoint{ContainerID: o.ContainerID, ContainerName: o.ContainerName, Network: r.Name,
			NetworkID: r.ID, IfName: o.IfName, IP: ip.String(), Gateway: gw.String(), MAC: mac.String(),
			PrefixLen: ones, Aliases: append([]string(nil), o.Aliases...)},
		HostIfName: hostVeth(o.ContainerID, r.ID),
		NetNSPath:  o.NetNSPath,
	}
	if rec.IfName == "" {
		rec.IfName = nextIfName(st, o.ContainerID)
	}
	return rec, nil
}

// refreshEndpoint updates what a repeated Attach may change on an existing
// endpoint (a new netns path after a lost one, a new name or aliases) and
// reports whether anything changed.
func refreshEndpoint(e *epRecord, o AttachOptions) bool {
	changed := false
	if e.NetNSPath != o.NetNSPath {
		e.NetNSPath, changed = o.NetNSPath, true
	}
	if o.ContainerName != "" && e.ContainerName != o.ContainerName {
		e.ContainerName, changed = o.ContainerName, true
	}
	if o.Aliases != nil && strings.Join(e.Aliases, "\x00") != strings.Join(o.Aliases, "\x00") {
		e.Aliases, changed = append([]string(nil), o.Aliases...), true
	}
	return changed
}

// release drops an endpoint record whose plumbing failed.
func (m *Manager) release(ctx context.Context, rec *epRecord) {
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return
	}
	defer unlock()
	if r, ok := st.Networks[rec.NetworkID]; ok {
		if e, ok := r.Endpoints[rec.ContainerID]; ok && e.IP == rec.IP {
			delete(r.Endpoints, rec.ContainerID)
			m.writeStateLocked(st)
		}
	}
}

// hasDefaultRoute reports whether the container has a non-internal
// endpoint on a network other than except (which then holds its default
// route).
func hasDefaultRoute(st *state, containerID, except string) bool {
	for id, r := range st.Networks {
		if _, ok := r.Endpoints[containerID]; ok && id != except && !r.Internal {
			return true
		}
	}
	return false
}

// nextIfName returns the container's first unused ethN.
func nextIfName(st *state, containerID string) string {
	used := map[string]bool{}
	for _, r := range st.Networks {
		if e, ok := r.Endpoints[containerID]; ok {
			used[e.IfName] = true
		}
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !used[name] {
			return name
		}
	}
}

// hostVeth is the host-side veth name of a container on a network:
// deterministic, so a retry or a Detach after a crash finds it.
func hostVeth(containerID, networkID string) string {
	h := sha256.Sum256([]byte(containerID + "/" + networkID))
	return "veth" + hex.EncodeToString(h[:])[:11]
}

// plumb creates the veth pair and configures the container side.
func plumb(ctx context.Context, n *Network, rec *epRecord, route bool) error {
	br, err := restoreBridge(ctx, n)
	if err != nil {
		return err
	}
	nsh, err := netns.GetFromPath(rec.NetNSPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", rec.NetNSPath, err)
	}
	defer nsh.Close()
	mac, _ := net.ParseMAC(rec.MAC)
	mtu := mtuOf(n)
	veth := &netlink.Veth{
		// Created up; LinkAdd then enslaves it to the bridge and fills in
		// its index, so no further lookups are needed.
		LinkAttrs: netlink.LinkAttrs{Name: rec.HostIfName, MTU: mtu, MasterIndex: br.Attrs().Index,
			TxQLen: -1, Flags: net.FlagUp},
		PeerName:         rec.IfName,
		PeerHardwareAddr: mac,
		PeerMTU:          uint32(mtu),
		PeerNamespace:    netlink.NsFd(int(nsh)),
	}
	err = netlink.LinkAdd(veth)
	if errors.Is(err, unix.EEXIST) {
		// A stale host side from a crashed attempt: replace it.
		deleteLink(rec.HostIfName)
		veth.Index = 0
		err = netlink.LinkAdd(veth)
	}
	if err != nil {
		return fmt.Errorf("create veth %s: %w", rec.HostIfName, err)
	}
	if err := netlink.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("veth %s: hairpin: %w", rec.HostIfName, err)
	}
	return configureInside(nsh, rec, route)
}

// configureInside sets the container side's address, state and route
// through a netlink socket opened in the container's namespace (no thread
// switching).
func configureInside(nsh netns.NsHandle, rec *epRecord, route bool) error {
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", rec.NetNSPath, err)
	}
	defer h.Close()
	c, err := h.LinkByName(rec.IfName)
	if err != nil {
		return fmt.Errorf("%s in container: %w", rec.IfName, err)
	}
	ip := net.ParseIP(rec.IP).To4()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(rec.PrefixLen, 32)}}
	if err := h.AddrAdd(c, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%s: add address %s: %w", rec.IfName, addr.IPNet, err)
	}
	if err := h.LinkSetUp(c); err != nil {
		return fmt.Errorf("%s: set up: %w", rec.IfName, err)
	}
	if lo, err := h.LinkByName("lo"); err == nil && lo.Attrs().Flags&net.FlagUp == 0 {
		h.LinkSetUp(lo)
	}
	if route {
		r := &netlink.Route{LinkIndex: c.Attrs().Index, Gw: net.ParseIP(rec.Gateway).To4()}
		if err := h.RouteAdd(r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: default route via %s: %w", rec.IfName, rec.Gateway, err)
		}
	}
	return nil
}

// linkInNetNS reports whether ifName exists in the namespace at path.
func linkInNetNS(path, ifName string) bool {
	nsh, err := netns.GetFromPath(path)
	if err != nil {
		return false
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_ROUTE)
	if err != nil {
		return false
	}
	defer h.Close()
	_, err = h.LinkByName(ifName)
	return err == nil
}

// deleteLink removes a host link; a missing one is fine.
func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("link %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// Detach disconnects the container from a network: its veth goes and its
// address is released. Detaching a container that is not attached is not
// an error. See DetachAll for the fast order of teardown.
func (m *Manager) Detach(ctx context.Context, containerID, network string) error {
	st, err := m.readState(ctx)
	if err != nil {
		return err
	}
	r, err := resolve(st, network)
	if err != nil {
		return err
	}
	return m.detach(ctx, containerID, r.ID)
}

// DetachAll disconnects the container from every network, deleting its
// veths, for a namespace that outlives its endpoints. A container that
// stopped for good needs Teardown, which leaves the veths to the kernel.
//
// Either order of teardown works. With the namespace still mounted (Detach
// before DeleteNetNS), each veth is deleted here. With the namespace already
// deleted, the kernel destroys the veths with it, and DetachAll waits (up to
// a second, then deletes them itself) before it releases the addresses.
// Concurrent deletions in one process are batched into single link-group
// deletes (20 containers at once: ~110 ms).
func (m *Manager) DetachAll(ctx context.Context, containerID string) error {
	return m.detach(ctx, containerID, "")
}

// detach tears down the container's endpoints on networkID ("" = all):
// first the veths, then, once they are gone, the records and addresses.
func (m *Manager) detach(ctx context.Context, containerID, networkID string) error {
	st, err := m.readState(ctx)
	if err != nil {
		return err
	}
	var eps []*epRecord
	for id, r := range st.Networks {
		if e, ok := r.Endpoints[containerID]; ok && (networkID == "" || id == networkID) {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil
	}
	var live, dying []string
	for _, e := range eps {
		if isNetNS(e.NetNSPath) {
			live = append(live, e.HostIfName)
		} else {
			dying = append(dying, e.HostIfName)
		}
	}
	// Where the namespace is gone, its veths go with it. Wait for that
	// (bounded), so an address is never released while its interface
	// still exists.
	live = append(live, waitLinksGone(ctx, dying, time.Second)...)
	if err := deleteLinks(live); err != nil {
		return fmt.Errorf("detach %s: %w", shortID(containerID), err)
	}
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, e := range eps {
		if r, ok := st.Networks[e.NetworkID]; ok {
			delete(r.Endpoints, containerID)
		}
	}
	return m.writeStateLocked(st)
}

// forget drops the container's endpoint records and releases their
// addresses, leaving their veths alone (Teardown: the kernel deletes them
// with the namespace).
func (m *Manager) forget(ctx context.Context, containerID string) error {
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	changed := false
	for _, r := range st.Networks {
		if _, ok := r.Endpoints[containerID]; ok {
			delete(r.Endpoints, containerID)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return m.writeStateLocked(st)
}

// waitLinksGone polls until none of the host links exists or the timeout
// passes, and returns those still there.
func waitLinksGone(ctx context.Context, names []string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for len(names) > 0 {
		left := names[:0]
		for _, n := range names {
			if _, err := netlink.LinkByName(n); err == nil {
				left = append(left, n)
			}
		}
		names = left
		if len(names) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(delay)
		if delay < 16*time.Millisecond {
			delay *= 2
		}
	}
	return names
}

// Endpoints lists the endpoints of a network ("" = of every network),
// sorted by network and container name.
func (m *Manager) Endpoints(ctx context.Context, network string) ([]Endpoint, error) {
	st, err := m.readState(ctx)
	if err != nil {
		return nil, err
	}
	wantID := ""
	if network != "" {
		want, err := resolve(st, network)
		if err != nil {
			return nil, err
		}
		wantID = want.ID
	}
	var out []Endpoint
	for id, r := range st.Networks {
		if wantID != "" && id != wantID {
			continue
		}
		for _, e := range r.Endpoints {
			out = append(out, e.Endpoint)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Network != out[j].Network {
			return out[i].Network < out[j].Network
		}
		if out[i].ContainerName != out[j].ContainerName {
			return out[i].ContainerName < out[j].ContainerName
		}
		return out[i].ContainerID < out[j].ContainerID
	})
	return out, nil
}
