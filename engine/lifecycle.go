package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

// StartOptions tune Start.
type StartOptions struct {
	// Attach connects stdio before the process starts and makes Start
	// return only when the attach session ends (see runtime.StartOptions).
	Attach *runtime.AttachOptions
	// RemoveAfter says that the caller removes the container as soon as an
	// attached Start returns (run --rm): Start and the monitor's exit hook
	// then leave the networks of the exited container to that Remove
	// instead of detaching them first. If the caller detached or died
	// before the exit, the monitor runs its hook after all (which removes
	// an AutoRemove container); if it dies between getting the exit code
	// and removing, the exited container keeps its endpoints until `rm`.
	RemoveAfter bool
}

// Start attaches the container's networks, writes its hosts file, updates
// DNS and starts it. A failed start detaches what it attached.
func (e *Engine) Start(ctx context.Context, ref string, o StartOptions) (err error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if o.Attach != nil {
			return e.Runtime.Attach(ctx, c.ID, *o.Attach)
		}
		return nil
	}
	d, err := dataOf(c)
	if err != nil {
		return err
	}
	runtime.WarmCgroupAttach() // the networks take a few ms: let the wait pass meanwhile
	done, err := e.markStarting(ctx, c.ID)
	if err != nil {
		return err
	}
	defer func() {
		done()
		// A foreground (attached) start returns once the container stopped;
		// its exit hook left the endpoints alone while we were starting.
		if o.RemoveAfter && o.Attach != nil && err == nil {
			return
		}
		if cur, gerr := e.Runtime.Get(ctx, c.ID); gerr == nil && !cur.State.Running() && err == nil {
			err = e.Exited(context.WithoutCancel(ctx), c.ID)
		}
	}()
	network := func() error {
		if err := e.attachNetworks(ctx, c, d); err != nil {
			e.detach(ctx, c)
			return err
		}
		// Names resolve as soon as Start returns (and during a foreground run).
		if err := e.refreshDNSFor(ctx, d); err != nil {
			e.detach(ctx, c)
			return fmt.Errorf("container %q: update DNS: %w", c.Name, err)
		}
		return nil
	}
	ro := runtime.StartOptions{Attach: o.Attach, CallerRemoves: o.RemoveAfter}
	if o.Attach != nil {
		// The monitor waits for the attach session before it starts the
		// process: attach the networks while it starts.
		ro.BeforeAttach = network
	} else if err := network(); err != nil {
		return err
	}
	err = e.Runtime.Start(ctx, c.ID, ro)
	if err != nil && !errors.Is(err, runtime.ErrDetached) {
		if cur, gerr := e.Runtime.Get(ctx, c.ID); gerr != nil || !cur.State.Running() {
			e.detach(ctx, c)
		}
	}
	return err
}

// attachNetworks connects the container to its networks and writes its
// etc files with the addresses it got.
func (e *Engine) attachNetworks(ctx context.Context, c *runtime.Container, d *containerData) error {
	if !d.OwnNetNS {
		if other, ok := strings.CutPrefix(d.NetworkMode, "container:"); ok && !c.Spec.HostNetwork {
			if err := e.joinNetNS(ctx, other); err != nil {
				return err
			}
		}
		return e.writeEtcFiles(ctx, c, d, nil)
	}
	// The namespace is made at every start (Create only names it) and goes
	// when the container stops (teardownNetworks) or with the run dir on a
	// reboot; making it is a no-op when it is there.
	if _, err := e.Networks.NewNetNS(ctx, c.ID); err != nil {
		return err
	}
	var eps []*network.Endpoint
	for i, n := range d.Networks {
		if n.Name == "bridge" {
			if _, err := e.Networks.EnsureDefault(ctx); err != nil {
				return err
			}
		}
		ep, err := e.Networks.Attach(ctx, network.AttachOptions{ContainerID: c.ID, ContainerName: c.Name,
			NetNSPath: c.Spec.NetNSPath, Network: n.Name, Aliases: n.Aliases, IP: n.IP, MAC: n.MAC,
			IfName: fmt.Sprintf("eth%d", i)})
		if err != nil {
			return fmt.Errorf("container %q: %w", c.Name, err)
		}
		eps = append(eps, ep)
	}
	return e.writeEtcFiles(ctx, c, d, eps)
}

// joinNetNS checks that the container whose namespace a container shares
// (--network container:X) runs, and marks its namespace shared, so that
// its teardown leaves the namespace's veths to no one (network.Teardown).
func (e *Engine) joinNetNS(ctx context.Context, id string) error {
	other, err := e.Runtime.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("--network container:%s: %w", id, err)
	}
	if !other.State.Running() {
		return errdefs.Errorf(errdefs.ErrFailedPrecondition,
			"cannot join the network namespace of container %q: it is not running", other.Name)
	}
	return e.Networks.JoinNetNS(other.ID)
}

// detach undoes attachNetworks and refreshes DNS; errors are secondary to
// the failure that led here, so they are dropped.
func (e *Engine) detach(ctx context.Context, c *runtime.Container) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	d, err := dataOf(c)
	e.teardownNetworks(ctx, c.ID, err == nil && d.OwnNetNS)
	os.Remove(e.portsFile(c.ID))
	if err == nil {
		e.refreshDNSFor(ctx, d)
	}
}

// teardownNetworks releases the endpoints of a container that is not
// running. Its own namespace goes with them (Start makes a new one), so the
// kernel deletes its veths in the background (see network.Teardown); with
// another container's namespace or the host's it has no endpoints.
func (e *Engine) teardownNetworks(ctx context.Context, id string, ownNetNS bool) error {
	if ownNetNS {
		return e.Networks.Teardown(ctx, id)
	}
	return e.Networks.DetachAll(ctx, id)
}

// Exited is the monitor's exit hook: the container stopped for good, so
// its networks are detached (its namespace dropped), its ports released
// and DNS updated. It is safe to run more than once.
func (e *Engine) Exited(ctx context.Context, ref string) error {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if c.State.Running() && c.State.Status != runtime.StatusRestarting {
		return nil // started again meanwhile
	}
	l, err := lockfile.LockExisting(ctx, e.startLockPath(c.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed meanwhile
	}
	if err != nil {
		return err
	}
	defer l.Unlock()
	if e.starting(c.ID) {
		return nil // a late hook of the previous run: a new start owns the endpoints
	}
	if cur, err := e.Runtime.Get(ctx, c.ID); err != nil || (cur.State.Running() && cur.State.Status != runtime.StatusRestarting) {
		return nil
	}
	d, derr := dataOf(c)
	if err := e.teardownNetworks(ctx, c.ID, derr == nil && d.OwnNetNS); err != nil {
		return err
	}
	os.Remove(e.portsFile(c.ID))
	if derr != nil {
		return e.RefreshDNS(ctx)
	}
	return e.refreshDNSFor(ctx, d)
}

// refreshDNSFor refreshes DNS when the container is on a user network:
// only those have names in the DNS server.
func (e *Engine) refreshDNSFor(ctx context.Context, d *containerData) error {
	for _, n := range d.Networks {
		if n.Name != "bridge" {
			return e.RefreshDNS(ctx)
		}
	}
	return nil
}

// startLockPath is the engine's lock of one container (LockExisting: the
// lock must not make the directory of a removed container again).
func (e *Engine) startLockPath(id string) string {
	return filepath.Join(e.containerDir(id), "engine.lock")
}
func (e *Engine) startingPath(id string) string { return filepath.Join(e.containerDir(id), "starting") }

// markStarting records (under the engine lock) that this process is
// starting the container, so that a late exit hook of its previous run
// does not detach the endpoints this start makes. done removes the mark.
func (e *Engine) markStarting(ctx context.Context, id string) (done func(), err error) {
	l, err := lockfile.LockExisting(ctx, e.startLockPath(id))
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	// Written in place, under the lock that starting's readers take: a
	// pid means nothing after a reboot, and a file left empty by a killed
	// writer reads as no start.
	if err := os.WriteFile(e.startingPath(id), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	return func() { os.Remove(e.startingPath(id)) }, nil
}

// starting reports whether a live process is starting the container.
func (e *Engine) starting(id string) bool {
	data, err := os.ReadFile(e.startingPath(id))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err == nil && pid > 0 && syscall.Kill(pid, 0) == nil
}

// AutoRemove reports whether the container asked to be removed once it
// stopped (run --rm) and has stopped. The exit hook must not remove it
// itself (its monitor is still waiting for the hook): it starts a separate
// process for that.
func (e *Engine) AutoRemove(ctx context.Context, ref string) bool {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil || c.State.Running() {
		return false
	}
	d, err := dataOf(c)
	return err == nil && d.Config.AutoRemove
}

// Stop stops the container (stop signal, then SIGKILL after timeout; nil
// timeout = the container's stop timeout or 10 s) and detaches its networks.
func (e *Engine) Stop(ctx context.Context, ref string, timeout *time.Duration) error {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return err
	}
	if err := e.Runtime.Stop(ctx, c.ID, timeout); err != nil {
		return err
	}
	return e.Exited(ctx, c.ID)
}

// Kill sends sig to the container's process.
func (e *Engine) Kill(ctx context.Context, ref, sig string) error {
	return e.Runtime.Kill(ctx, ref, sig)
}

// Restart stops the container if it runs and starts it again.
func (e *Engine) Restart(ctx context.Context, ref string, timeout *time.Duration) error {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if err := e.Stop(ctx, c.ID, timeout); err != nil {
			return err
		}
	}
	return e.Start(ctx, c.ID, StartOptions{})
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// RemoveOptions tune Remove.
type RemoveOptions struct {
	Force   bool // kill a running container first
	Volumes bool // also remove its anonymous volumes
}

// Remove deletes the container and everything the engine made for it: its
// endpoints, netns and (with Volumes) anonymous volumes. A container whose
// monitor died is removed as well.
func (e *Engine) Remove(ctx context.Context, ref string, o RemoveOptions) error {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) && idPattern.MatchString(ref) {
			// Removed meanwhile (run --rm: the CLI and the exit hook both
			// remove): make sure nothing of it stays behind.
			e.Networks.Teardown(ctx, ref)
			e.Networks.ForgetNetNS(ref)
		}
		return err
	}
	if c.State.Running() && !o.Force {
		return fmt.Errorf("cannot remove container %q: container is %s: stop the container before removing or force remove (-f): %w",
			c.Name, c.State.Status, errdefs.ErrFailedPrecondition)
	}
	d, derr := dataOf(c)
	release := func() []error {
		if derr == nil && !d.OwnNetNS {
			return []error{e.Networks.DetachAll(ctx, c.ID), e.Networks.ForgetNetNS(c.ID)}
		}
		// Also when the record is unreadable: Teardown of a container
		// without a namespace only releases its endpoints.
		return []error{e.Networks.Teardown(ctx, c.ID), e.Networks.ForgetNetNS(c.ID)}
	}
	// A container that is not running holds its endpoints for no process:
	// they go while the runtime deletes its files. A running one keeps
	// them until Remove killed it.
	var released chan []error
	if !c.State.Running() {
		released = make(chan []error, 1)
		go func() { released <- release() }()
	}
	if err := e.Runtime.Remove(ctx, c.ID, runtime.RemoveOptions{Force: o.Force}); err != nil {
		if _, gerr := e.Runtime.Get(ctx, c.ID); !errdefs.IsNotFound(gerr) {
			if released != nil {
				<-released
			}
			return err
		}
		// Another process finished removing it: clean up all the same.
	}
	var errs []error
	if released != nil {
		errs = <-released
	} else {
		errs = release()
	}
	if derr == nil {
		errs = append(errs, e.refreshDNSFor(ctx, d))
	} else {
		errs = append(errs, e.RefreshDNS(ctx))
	}
	if o.Volumes && derr == nil {
		for _, v := range d.AnonVolumes {
			if err := e.Volumes.Remove(ctx, v, e.volumeInUseExcept(ctx, c.ID)); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("container %q removed, but cleaning up after it failed: %w", c.Name, err)
	}
	return nil
}

// volumeInUseExcept returns an in-use check over every container but id.
func (e *Engine) volumeInUseExcept(ctx context.Context, id string) func(string) bool {
	return func(name string) bool {
		for _, u := range e.VolumeUsers(ctx, name) {
			if u != id {
				return true
			}
		}
		return false
	}
}

// VolumeUsers returns the ids of containers that mount volume name.
func (e *Engine) VolumeUsers(ctx context.Context, name string) []string {
	cs, err := e.Runtime.List(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cs {
		d, err := dataOf(c)
		if err != nil {
			continue
		}
		for _, m := range d.Mounts {
			if m.Type == "volume" && m.Name == name {
				out = append(out, c.ID)
				break
			}
		}
	}
	return out
}

// VolumeInUse reports whether any container mounts volume name (for
// `volume rm` and `volume prune`).
func (e *Engine) VolumeInUse(ctx context.Context) func(string) bool {
	return func(name string) bool { return len(e.VolumeUsers(ctx, name)) > 0 }
}

// ImageInUse reports whether any container uses the image id (for `image rm`).
func (e *Engine) ImageInUse(ctx context.Context) func(string) bool {
	return func(id string) bool {
		cs, err := e.Runtime.List(ctx)
		if err != nil {
			return true
		}
		for _, c := range cs {
			if c.Spec.ImageID == id {
				return true
			}
		}
		return false
	}
}
