package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// NetNSPath is where the named netns of a container is bind-mounted.
func (m *Manager) NetNSPath(containerID string) string {
	return filepath.Join(m.opts.NetNSDir, containerID)
}

func checkID(containerID string) error {
	if containerID == "" || strings.ContainsAny(containerID, "/\x00") || containerID == "." || containerID == ".." {
		return fmt.Errorf("container id %q: %w", containerID, errdefs.ErrInvalidArgument)
	}
	return nil
}

// NewNetNS creates a network namespace for the container, bind-mounted at
// NetNSPath(containerID) (as `ip netns add` does), with lo up, and returns
// its path. An existing namespace is returned as it is.
func (m *Manager) NewNetNS(ctx context.Context, containerID string) (string, error) {
	if err := checkID(containerID); err != nil {
		return "", err
	}
	p := m.NetNSPath(containerID)
	if isNetNS(p) {
		return p, nil
	}
	if err := os.MkdirAll(m.opts.NetNSDir, 0o711); err != nil {
		return "", fmt.Errorf("netns %s: %w", containerID, err)
	}
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		// A leftover of a crash: a plain file where no namespace is mounted.
		os.Remove(p)
		f, err = os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	}
	if err != nil {
		return "", fmt.Errorf("netns %s: %w", containerID, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread enters the new namespace and goes back to its own
		// before it is unlocked. Should it fail to, it stays locked: when
		// this goroutine returns, the Go runtime ends the thread (or, for
		// the main thread, parks it for good), so no other goroutine ever
		// runs in the wrong namespace. A thread merely parked there would
		// still pin the namespace (and, being the main thread, show it
		// as this process's in /proc/PID/ns/net).
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer own.Close()
		errc <- mountNewNetNS(p)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	if err := <-errc; err != nil {
		unix.Unmount(p, unix.MNT_DETACH)
		os.Remove(p)
		return "", fmt.Errorf("netns %s: %w", containerID, err)
	}
	return p, nil
}

// mountNewNetNS moves the calling (locked) thread into a new network
// namespace, bind-mounts it at p and brings lo up.
func mountNewNetNS(p string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s: %w", src, err)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// isNetNS reports whether a network namespace is mounted at p.
func isNetNS(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// DeleteNetNS unmounts and removes the container's namespace. The
// namespace, and the interfaces in it, are gone once no process uses it any
// more. A missing namespace is not an error.
func (m *Manager) DeleteNetNS(ctx context.Context, containerID string) error {
	if err := checkID(containerID); err != nil {
		return err
	}
	p := m.NetNSPath(containerID)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netns %s: unmount: %w", containerID, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("netns %s: %w", containerID, err)
	}
	return nil
}

// Teardown ends the networking of a container that stopped for good (or is
// being removed): its namespace (made by NewNetNS) is unmounted and
// removed, and its endpoints are released. When no process is left in the
// namespace, the kernel destroys it, and the veths in it, in its own time:
// deleting a veth costs ~20 ms of RCU grace periods under the RTNL lock,
// which the caller then does not wait for. Only the records and addresses
// are released here. When another container uses the namespace (it joined
// it with --network container:X, see JoinNetNS), it outlives the
// endpoints, so their veths are deleted first, as DetachAll does. A
// container without a namespace or endpoints is not an error.
//
// An address is released while its old veth may still be on the bridge
// for some milliseconds; allocation moves on from the last address handed
// out (LastIP), so it is not handed out again at once. A process that
// entered the namespace outside berth (nsenter) keeps the veths alive
// until it leaves.
func (m *Manager) Teardown(ctx context.Context, containerID string) error {
	if err := checkID(containerID); err != nil {
		return err
	}
	p := m.NetNSPath(containerID)
	if !isNetNS(p) || m.joined(containerID) && netNSInUse(p) {
		// Gone already (DetachAll waits for its veths to go, or deletes
		// them), or shared: delete the veths while the namespace lives.
		if err := m.DetachAll(ctx, containerID); err != nil {
			return err
		}
		return m.DeleteNetNS(ctx, containerID)
	}
	if err := m.DeleteNetNS(ctx, containerID); err != nil {
		return err
	}
	return m.forget(ctx, containerID)
}

// JoinNetNS records that a container is about to join the namespace of
// containerID (--network container:X), so that Teardown of containerID
// checks whether it still is: called at every start of the joining
// container. The mark lives in the run dir until ForgetNetNS.
func (m *Manager) JoinNetNS(containerID string) error {
	if err := checkID(containerID); err != nil {
		return err
	}
	if err := os.MkdirAll(m.joinedDir(), 0o711); err != nil {
		return fmt.Errorf("netns %s: %w", containerID, err)
	}
	f, err := os.OpenFile(filepath.Join(m.joinedDir(), containerID), os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("netns %s: %w", containerID, err)
	}
	return f.Close()
}

// ForgetNetNS drops the JoinNetNS mark of a container being removed.
func (m *Manager) ForgetNetNS(containerID string) error {
	if err := checkID(containerID); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(m.joinedDir(), containerID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("netns %s: %w", containerID, err)
	}
	return nil
}

func (m *Manager) joinedDir() string { return filepath.Join(m.opts.RunRoot, "joined") }

// joined reports whether another container ever joined the namespace of
// containerID since its JoinNetNS mark was made.
func (m *Manager) joined(containerID string) bool {
	_, err := os.Stat(filepath.Join(m.joinedDir(), containerID))
	return err == nil
}

// netNSInUse reports whether a process is in the network namespace
// mounted at p. It reads every process's /proc/PID/ns/net (~1.5 ms with
// 150 processes here), so Teardown asks only about namespaces another
// container joined.
func netNSInUse(p string) bool {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return false
	}
	want := "net:[" + strconv.FormatUint(st.Ino, 10) + "]"
	d, err := os.Open("/proc")
	if err != nil {
		return true // cannot tell: take the safe way
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return true
	}
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if l, err := os.Readlink("/proc/" + n + "/ns/net"); err == nil && l == want {
			return true
		}
	}
	return false
}
