package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

// ConnectOptions are `network connect`'s flags.
type ConnectOptions struct {
	Aliases []string
	IP      string
}

// Connect adds a network to a container, as `docker network connect`: the
// container gets it on every later start and, when it runs, at once (a new
// ethN, with its name and aliases in DNS).
func (e *Engine) Connect(ctx context.Context, ref, netRef string, o ConnectOptions) error {
	c, d, n, unlock, err := e.networkChange(ctx, ref, netRef)
	if err != nil {
		return err
	}
	defer unlock()
	if slices.IndexFunc(d.Networks, func(a NetworkAttachment) bool { return a.Name == n.Name }) >= 0 {
		return errdefs.Errorf(errdefs.ErrAlreadyExists, "container %q is already connected to network %q", c.Name, n.Name)
	}
	att := NetworkAttachment{Name: n.Name, Aliases: o.Aliases, IP: o.IP}
	if c.State.Running() {
		ifname, err := e.freeIfName(ctx, c.ID)
		if err != nil {
			return err
		}
		if _, err := e.Networks.Attach(ctx, network.AttachOptions{ContainerID: c.ID, ContainerName: c.Name,
			NetNSPath: c.Spec.NetNSPath, Network: n.Name, Aliases: o.Aliases, IP: o.IP, IfName: ifname}); err != nil {
			return fmt.Errorf("container %q: %w", c.Name, err)
		}
	}
	d.Networks = append(d.Networks, att)
	if err := e.saveData(ctx, c, d); err != nil {
		if c.State.Running() {
			e.Networks.Detach(context.WithoutCancel(ctx), c.ID, n.Name)
		}
		return err
	}
	return e.RefreshDNS(ctx)
}

// Disconnect removes a network from a container, now and for later starts.
func (e *Engine) Disconnect(ctx context.Context, ref, netRef string) error {
	c, d, n, unlock, err := e.networkChange(ctx, ref, netRef)
	if err != nil {
		return err
	}
	defer unlock()
	i := slices.IndexFunc(d.Networks, func(a NetworkAttachment) bool { return a.Name == n.Name })
	if i < 0 {
		return errdefs.Errorf(errdefs.ErrNotFound, "container %q is not connected to network %q", c.Name, n.Name)
	}
	if c.State.Running() {
		if err := e.Networks.Detach(ctx, c.ID, n.Name); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("container %q: %w", c.Name, err)
		}
	}
	d.Networks = slices.Delete(d.Networks, i, i+1)
	if err := e.saveData(ctx, c, d); err != nil {
		return err
	}
	return e.RefreshDNS(ctx)
}

// networkChange looks up the container and the network of a connect or
// disconnect and takes the container's start lock, so that a concurrent
// start or exit hook sees either the old list of networks or the new one.
func (e *Engine) networkChange(ctx context.Context, ref, netRef string) (*runtime.Container, *containerData, *network.Network, func(), error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	d, err := dataOf(c)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if !d.OwnNetNS {
		return nil, nil, nil, nil, errdefs.Errorf(errdefs.ErrFailedPrecondition,
			"container %q uses network mode %q: it cannot join or leave networks", c.Name, d.NetworkMode)
	}
	n, err := e.Networks.Get(ctx, netRef)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	l, err := lockfile.LockExisting(ctx, e.startLockPath(c.ID))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return c, d, n, func() { l.Unlock() }, nil
}

// freeIfName is the first ethN the container's namespace does not use.
func (e *Engine) freeIfName(ctx context.Context, id string) (string, error) {
	eps, err := e.Networks.Endpoints(ctx, "")
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, ep := range eps {
		if ep.ContainerID == id {
			used[ep.IfName] = true
		}
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !used[name] {
			return name, nil
		}
	}
}

// saveData writes the engine's record of the container back into its spec.
func (e *Engine) saveData(ctx context.Context, c *runtime.Container, d *containerData) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return e.Runtime.SetExtra(ctx, c.ID, extraKey, raw)
}
