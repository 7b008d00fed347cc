package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// mountRootfs mounts the overlay rootfs of c at its mount point unless it
// is mounted already, and returns the mount point.
func (m *Manager) mountRootfs(c *Container) (string, error) {
	target := m.rootfsDir(c.ID)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	if ok, _ := mountinfo.Mounted(target); ok {
		return target, nil
	}
	layers := c.Spec.Rootfs.Layers
	if len(layers) == 0 {
		return "", fmt.Errorf("container %s: rootfs has no layers: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	upper, work := m.UpperDir(c.ID), m.workDir(c.ID)
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	opts := "lowerdir=" + strings.Join(layers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(opts) >= os.Getpagesize() {
		// mount(2) takes one page of options; fsconfig takes layers one by one.
		if err := mountOverlayFsconfig(target, layers, upper, work); err != nil {
			return "", fmt.Errorf("container %s: mount overlay rootfs of %d layers (needs Linux 6.8 for this many): %w", c.ID, len(layers), err)
		}
		return target, nil
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("container %s: mount overlay rootfs: %w", c.ID, err)
	}
	return target, nil
}

// mountOverlayFsconfig mounts an overlay with the new mount API, adding
// each lower layer on its own ("lowerdir+", Linux 6.8), top first.
func mountOverlayFsconfig(target string, layers []string, upper, work string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, l := range layers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("lowerdir+ %s: %w", l, err)
		}
	}
	if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
		return err
	}
	if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
		return err
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// unmountRootfs unmounts the container's rootfs if mounted.
func (m *Manager) unmountRootfs(id string) error {
	target := m.rootfsDir(id)
	for range 2 {
		ok, err := mountinfo.Mounted(target)
		if err != nil || !ok {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := unix.Unmount(target, 0); err != nil {
			if err2 := unix.Unmount(target, unix.MNT_DETACH); err2 != nil {
				return fmt.Errorf("container %s: unmount rootfs: %w", id, err)
			}
		}
	}
	return nil
}

// MountRootfs returns a directory with the container's merged rootfs, for
// cp and export, even when the container is stopped. release unmounts it if
// this call mounted it.
func (m *Manager) MountRootfs(ctx context.Context, ref string) (string, func() error, error) {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	h, err := m.lock(ctx, c.ID)
	if err != nil {
		return "", nil, err
	}
	defer h.Unlock()
	target := m.rootfsDir(c.ID)
	if ok, _ := mountinfo.Mounted(target); ok {
		return target, func() error { return nil }, nil
	}
	dir, err := m.mountRootfs(c)
	if err != nil {
		return "", nil, err
	}
	return dir, func() error {
		// Leave it mounted if the container started meanwhile.
		if cur, err := m.load(c.ID); err == nil && cur.State.Running() {
			return nil
		}
		return m.unmountRootfs(c.ID)
	}, nil
}

// removeCgroups removes the container's leftover cgroup dirs (killing what
// is left in them) and the berth parent dirs when they are empty. Parents
// are removed only under the exclusive cgroup lock, which starts hold
// shared, so a start never sees its parent vanish.
func (m *Manager) removeCgroups(id string) {
	bases := cgroupBases()
	for _, base := range bases {
		leaf := filepath.Join(base, cgroupParent, id)
		// Killed processes leave their cgroup asynchronously: retry a while.
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(leaf); err != nil {
				break
			}
			killCgroup(leaf)
			if removeTree(leaf) == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	h, ok, err := lockfile.TryLock(m.cgroupLockPath())
	if err != nil || !ok {
		return
	}
	defer h.Unlock()
	for _, base := range bases {
		os.Remove(filepath.Join(base, cgroupParent)) // fails while other containers use it
	}
}

// cgroupLockPath guards the creation and removal of the cgroup parents.
// The parents (/sys/fs/cgroup/*/berth) are shared by every berth root on
// the host, so the lock is host-wide too: with a lock per root, one root's
// last removal could delete the parent under another root's start.
func (m *Manager) cgroupLockPath() string { return hostCgroupLock }

// hostCgroupLock is the host-wide lock file of the cgroup parents.
const hostCgroupLock = "/run/berth-cgroup.lock"

// cgroupBases lists the cgroup hierarchies' mount points.
func cgroupBases() []string {
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() { // skips the cpu -> cpu,cpuacct style symlinks
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return out
}

func killCgroup(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(data)) {
		var pid int
		fmt.Sscan(f, &pid)
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// removeTree rmdirs a cgroup dir and its children, deepest first.
func removeTree(dir string) error {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	return os.Remove(dir)
}
