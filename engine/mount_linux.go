package engine

import (
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlayRO mounts a read-only overlay of layers (top first) at dir.
func mountOverlayRO(layers []string, dir string) error {
	return unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(layers, ":"))
}

func unmount(dir string) error { return unix.Unmount(dir, unix.MNT_DETACH) }
