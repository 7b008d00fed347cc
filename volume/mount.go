package volume

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// Option keys of the local driver (`-o type=tmpfs -o device=tmpfs -o o=size=64m`).
const (
	OptType   = "type"
	OptDevice = "device"
	OptMount  = "o"
)

// validateOptions checks local driver options: only type, device and o;
// type is needed when any is given; device is needed except for tmpfs; a
// bind ("o=bind") needs an absolute device path.
func validateOptions(opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	for k := range opts {
		switch k {
		case OptType, OptDevice, OptMount:
		default:
			return fmt.Errorf("driver option %q: %w: the local driver takes type, device and o", k, errdefs.ErrInvalidArgument)
		}
	}
	typ, dev := opts[OptType], opts[OptDevice]
	if typ == "" {
		return fmt.Errorf("driver options: %w: missing type (for example -o type=tmpfs)", errdefs.ErrInvalidArgument)
	}
	flags, _ := parseMountOptions(opts[OptMount])
	switch {
	case flags&unix.MS_BIND != 0:
		if !filepath.IsAbs(dev) {
			return fmt.Errorf("driver options: %w: a bind needs device=/absolute/path", errdefs.ErrInvalidArgument)
		}
	case typ == "tmpfs":
	case dev == "":
		return fmt.Errorf("driver options: %w: type %q needs a device", errdefs.ErrInvalidArgument, typ)
	}
	return nil
}

var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"dirsync": {false, unix.MS_DIRSYNC}, "noatime": {false, unix.MS_NOATIME},
	"atime": {true, unix.MS_NOATIME}, "nodiratime": {false, unix.MS_NODIRATIME},
	"relatime": {false, unix.MS_RELATIME}, "strictatime": {false, unix.MS_STRICTATIME},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
}

// parseMountOptions splits an fstab-style option list into mount flags and
// the data string passed to the filesystem.
func parseMountOptions(o string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, opt := range strings.Split(o, ",") {
		if opt == "" {
			continue
		}
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, opt)
	}
	return flags, strings.Join(data, ",")
}

// NeedsMount reports whether the volume has mount options, so that Mount
// must be called before a container uses its Mountpoint.
func (v *Volume) NeedsMount() bool { return v.Options[OptType] != "" }

// Mount mounts a volume created with mount options (tmpfs, a bind of a
// host directory, a device) on its Mountpoint and returns the Mountpoint.
// It is idempotent, and a no-op for plain volumes. Call it before a
// container starts; Unmount when the last container using it has stopped.
func (s *Store) Mount(ctx context.Context, name string) (string, error) {
	v, err := s.Get(ctx, name)
	if err != nil || !v.NeedsMount() {
		return pathOf(v), err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return "", err
	}
	defer l.Unlock()
	if ok, err := mountinfo.Mounted(v.Mountpoint); err != nil {
		return "", fmt.Errorf("volume %q: %w", name, err)
	} else if ok {
		return v.Mountpoint, nil
	}
	flags, data := parseMountOptions(v.Options[OptMount])
	dev, typ := v.Options[OptDevice], v.Options[OptType]
	if typ == "tmpfs" && dev == "" {
		dev = "tmpfs"
	}
	if flags&unix.MS_BIND == 0 {
		if err := unix.Mount(dev, v.Mountpoint, typ, flags, data); err != nil {
			return "", fmt.Errorf("volume %q: mount %s (%s) on %s: %w", name, dev, typ, v.Mountpoint, err)
		}
		return v.Mountpoint, nil
	}
	if err := unix.Mount(dev, v.Mountpoint, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
		return "", fmt.Errorf("volume %q: bind %s on %s: %w", name, dev, v.Mountpoint, err)
	}
	if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
		// A bind ignores other flags (ro, nosuid, ...) until remounted.
		if err := unix.Mount("", v.Mountpoint, "", rest|unix.MS_BIND|unix.MS_REMOUNT, ""); err != nil {
			unix.Unmount(v.Mountpoint, unix.MNT_DETACH)
			return "", fmt.Errorf("volume %q: remount %s with %q: %w", name, v.Mountpoint, v.Options[OptMount], err)
		}
	}
	return v.Mountpoint, nil
}

func pathOf(v *Volume) string {
	if v == nil {
		return ""
	}
	return v.Mountpoint
}

// Unmount undoes Mount. It is idempotent; a volume still busy gives
// ErrFailedPrecondition.
func (s *Store) Unmount(ctx context.Context, name string) error {
	v, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := unmountData(v.Mountpoint); err != nil {
		return fmt.Errorf("volume %q: %w", name, err)
	}
	return nil
}

// unmountData unmounts whatever Mount put on data and refuses (with
// ErrFailedPrecondition) when other mounts remain at or below it, so that
// a removal never deletes through a mount into someone else's files.
func unmountData(data string) error {
	for range 8 { // mounts may be stacked
		ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(data))
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) > len(ms[j].Mountpoint) })
		if ms[0].Mountpoint != data {
			return fmt.Errorf("%s is mounted: %w: unmount it first", ms[0].Mountpoint, errdefs.ErrFailedPrecondition)
		}
		if err := unix.Unmount(data, 0); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("unmount %s: %w: it is busy", data, errdefs.ErrFailedPrecondition)
			}
			if errors.Is(err, unix.EINVAL) {
				return nil
			}
			return fmt.Errorf("unmount %s: %w", data, err)
		}
	}
	return fmt.Errorf("%s: %w: too many stacked mounts", data, errdefs.ErrFailedPrecondition)
}
