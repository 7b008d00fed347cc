// Package layout names the directories berth keeps its data and runtime
// state in. With the default root, data lives in /var/lib/berth and runtime
// state (sockets, netns mounts, libcontainer state, pid files) in
// /run/berth; with --root R (or BERTH_ROOT=R) data lives in R and runtime
// state in R/run, so a test's whole world is one directory.
package layout

import (
	"os"
	"path/filepath"
)

// Default roots.
const (
	DefaultData = "/var/lib/berth"
	DefaultRun  = "/run/berth"
)

// Layout is the set of directories of one berth root.
type Layout struct {
	Data string // persistent data
	Run  string // runtime state, gone after a reboot
}

// New returns the layout for root; "" means BERTH_ROOT or the defaults.
func New(root string) Layout {
	if root == "" {
		root = os.Getenv("BERTH_ROOT")
	}
	if root == "" {
		return Layout{Data: DefaultData, Run: DefaultRun}
	}
	root, _ = filepath.Abs(root)
	return Layout{Data: root, Run: filepath.Join(root, "run")}
}

// Images is the image store's directory.
func (l Layout) Images() string { return filepath.Join(l.Data, "image") }

// Volumes is the volume store's directory.
func (l Layout) Volumes() string { return filepath.Join(l.Data, "volumes") }

// Containers holds one directory per container: config, state, log.
func (l Layout) Containers() string { return filepath.Join(l.Data, "containers") }

// Networks holds network definitions and IPAM state.
func (l Layout) Networks() string { return filepath.Join(l.Data, "network") }

// Projects holds per-project locks and bookkeeping for compose.
func (l Layout) Projects() string { return filepath.Join(l.Data, "projects") }

// RunContainers holds per-container runtime state: rootfs mount point,
// attach socket, monitor pid.
func (l Layout) RunContainers() string { return filepath.Join(l.Run, "containers") }

// Libcontainer is libcontainer's state root.
func (l Layout) Libcontainer() string { return filepath.Join(l.Run, "libcontainer") }

// NetNS holds bind-mounted network namespaces, one file per container.
func (l Layout) NetNS() string { return filepath.Join(l.Run, "netns") }

// Network holds runtime network state (port reservations, NAT bookkeeping).
func (l Layout) Network() string { return filepath.Join(l.Run, "network") }

// DNS holds the DNS server's pid file, lock and record snapshot.
func (l Layout) DNS() string { return filepath.Join(l.Run, "dns") }
