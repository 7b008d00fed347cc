package runtime

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// InitPath is where --init mounts berth's own init in the container.
const InitPath = "/sbin/berth-init"

// cgroupParent is the cgroup dir every container's cgroup lives under.
const cgroupParent = "berth"

// defaultCaps is Docker's default capability set (CapEff 0x00000000a80425fb).
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Docker's masked and read-only paths.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// defaultMounts are Docker's default mounts.
func defaultMounts(privileged bool) []specs.Mount {
	ro := "ro"
	if privileged {
		ro = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", ro}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{ro, "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
}

// normalizeCap turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" into
// "CAP_NET_ADMIN"; "ALL" stays "ALL".
func normalizeCap(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return n, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for _, c := range capability.ListKnown() {
		if "CAP_"+strings.ToUpper(c.String()) == n {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q: %w", name, errdefs.ErrInvalidArgument)
}

// boundingCaps returns the capabilities in this process's bounding set and
// the known ones that are missing from it.
func boundingCaps() (have, missing []string) {
	last, err := capability.LastCap()
	for _, c := range capability.ListKnown() {
		if err == nil && c > last {
			continue
		}
		n := "CAP_" + strings.ToUpper(c.String())
		if ok, err := capability.GetBound(c); err == nil && ok {
			have = append(have, n)
		} else {
			missing = append(missing, n)
		}
	}
	return have, missing
}

// capabilities returns the container's capability set and warnings about
// capabilities it asked for but the host cannot grant.
func capabilities(sec Security) ([]string, []string, error) {
	have, missing := boundingCaps()
	var warnings []string
	if sec.Privileged {
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("privileged: capabilities not in the bounding set, not granted: %s", strings.Join(missing, ", ")))
		}
		return have, warnings, nil
	}
	set := map[string]bool{}
	var add, drop []string
	for _, list := range []struct {
		in  []string
		out *[]string
	}{{sec.CapAdd, &add}, {sec.CapDrop, &drop}} {
		for _, n := range list.in {
			c, err := normalizeCap(n)
			if err != nil {
				return nil, nil, err
			}
			*list.out = append(*list.out, c)
		}
	}
	switch {
	case contains(add, "ALL"):
		for _, c := range have {
			set[c] = true
		}
	case !contains(drop, "ALL"):
		for _, c := range defaultCaps {
			set[c] = true
		}
	}
	for _, c := range add {
		if c != "ALL" {
			set[c] = true
		}
	}
	if !contains(add, "ALL") {
		for _, c := range drop {
			delete(set, c)
		}
	} else {
		for _, c := range drop {
			if c != "ALL" {
				delete(set, c)
			}
		}
	}
	var out []string
	for _, c := range append(have, missing...) {
		if !set[c] {
			continue
		}
		if contains(missing, c) {
			warnings = append(warnings, fmt.Sprintf("capability %s is not in the host's bounding set, not granted", c))
			continue
		}
		out = append(out, c)
	}
	return out, warnings, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// toOCISpecCheck validates the parts of spec that can be checked before the
// rootfs exists, and returns warnings.
func toOCISpecCheck(spec Spec) ([]string, error) {
	_, warnings, err := capabilities(spec.Security)
	if err != nil {
		return nil, err
	}
	switch spec.Restart.Name {
	case "", "no", "always", "unless-stopped", "on-failure":
	default:
		return nil, fmt.Errorf("invalid restart policy %q: use no, always, unless-stopped or on-failure[:N]: %w", spec.Restart.Name, errdefs.ErrInvalidArgument)
	}
	for _, mnt := range spec.Mounts {
		if mnt.Type != "bind" && mnt.Type != "tmpfs" {
			return nil, fmt.Errorf("mount %q: type %q not supported (bind or tmpfs): %w", mnt.Destination, mnt.Type, errdefs.ErrInvalidArgument)
		}
		if !strings.HasPrefix(mnt.Destination, "/") {
			return nil, fmt.Errorf("mount destination %q must be absolute: %w", mnt.Destination, errdefs.ErrInvalidArgument)
		}
	}
	if spec.StopSignal != "" {
		if _, err := ParseSignal(spec.StopSignal); err != nil {
			return nil, err
		}
	}
	_, w, err := rlimits(spec.Ulimits)
	if err != nil {
		return nil, err
	}
	return append(warnings, w...), nil
}

// ociSpec builds the OCI runtime spec of c with its rootfs at rootfs.
func ociSpec(c *Container, rootfs string) (*specs.Spec, error) {
	sp := c.Spec
	caps, _, err := capabilities(sp.Security)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version:    specs.Version,
		Root:       &specs.Root{Path: rootfs, Readonly: sp.Rootfs.ReadOnly},
		Hostname:   hostname(c),
		Domainname: sp.Domainname,
		Process: &specs.Process{
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: sp.Security.NoNewPrivileges,
			Args:            sp.Process.Args,
		},
		Mounts: defaultMounts(sp.Security.Privileged),
		Linux: &specs.Linux{
			CgroupsPath: "/" + cgroupParent + "/" + c.ID,
			Resources:   resources(sp),
			Sysctl:      sp.Sysctls,
		},
	}
	if sp.HostNetwork {
		s.Hostname = ""
		s.Domainname = ""
	}
	s.Linux.Namespaces = namespaces(sp)
	if !sp.Security.Privileged {
		s.Linux.MaskedPaths = maskedPaths
		s.Linux.ReadonlyPaths = readonlyPaths
	}
	mounts, err := userMounts(sp)
	if err != nil {
		return nil, err
	}
	s.Mounts = append(s.Mounts, mounts...)
	if !sp.Security.Privileged {
		if s.Linux.Seccomp, err = seccompProfile(sp.Security.Seccomp, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func hostname(c *Container) string {
	if c.Spec.Hostname != "" {
		return c.Spec.Hostname
	}
	return c.ID[:12]
}

func namespaces(sp Spec) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	for _, s := range []struct {
		mode string
		typ  specs.LinuxNamespaceType
	}{{sp.PIDMode, specs.PIDNamespace}, {sp.IPCMode, specs.IPCNamespace}} {
		switch {
		case s.mode == "host":
		case strings.HasPrefix(s.mode, "/"): // resolved by sharedNamespaces
			ns = append(ns, specs.LinuxNamespace{Type: s.typ, Path: s.mode})
		default:
			ns = append(ns, specs.LinuxNamespace{Type: s.typ})
		}
	}
	if !sp.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace},
			specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sp.NetNSPath})
	}
	if cgroups.IsCgroup2UnifiedMode() {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func resources(sp Spec) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if sp.Security.Privileged {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	res := sp.Resources
	if res.Memory > 0 {
		mem := res.Memory
		r.Memory = &specs.LinuxMemory{Limit: &mem}
		if swapAccounting() {
			swap := mem // no swap on top of the limit: an over-limit container is OOM-killed
			r.Memory.Swap = &swap
		}
	}
	if res.NanoCPUs > 0 || res.CPUShares > 0 {
		r.CPU = &specs.LinuxCPU{}
		if res.NanoCPUs > 0 {
			period := uint64(100000)
			quota := res.NanoCPUs * int64(period) / 1e9
			r.CPU.Period, r.CPU.Quota = &period, &quota
		}
		if res.CPUShares > 0 {
			shares := uint64(res.CPUShares)
			r.CPU.Shares = &shares
		}
	}
	if res.PidsLimit > 0 {
		limit := res.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return r
}

// swapAccounting reports whether a swap limit can be set (cgroup v2 ignores
// it when swap is off; v1 needs memory.memsw.*).
func swapAccounting() bool {
	if cgroups.IsCgroup2UnifiedMode() {
		return true
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

func userMounts(sp Spec) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range sp.Mounts {
		switch m.Type {
		case "bind":
			opts := []string{"rbind", "rprivate"}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: append(opts, m.Options...)})
		case "tmpfs":
			opts := []string{"nosuid", "nodev", "noexec"}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: append(opts, m.Options...)})
		default:
			return nil, fmt.Errorf("mount %q: type %q not supported: %w", m.Destination, m.Type, errdefs.ErrInvalidArgument)
		}
	}
	if sp.Process.Init {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("--init: find berth's own binary: %w", err)
		}
		out = append(out, specs.Mount{Destination: InitPath, Type: "bind", Source: self, Options: []string{"bind", "ro", "rprivate"}})
	}
	return out, nil
}

func seccompProfile(profile string, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	switch profile {
	case "unconfined":
		return nil, nil
	case "":
		p, err := seccomp.GetDefaultProfile(s)
		if p != nil {
			p.Architectures = withoutX32(p.Architectures)
		}
		return p, err
	default:
		data, err := os.ReadFile(profile)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile: %w", err)
		}
		p, err := seccomp.LoadProfile(string(data), s)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile %q: %v: %w", profile, err, errdefs.ErrInvalidArgument)
		}
		return p, nil
	}
}

// libcontainerConfig converts c to libcontainer's config.
func libcontainerConfig(c *Container, rootfs string) (*configs.Config, error) {
	s, err := ociSpec(c, rootfs)
	if err != nil {
		return nil, err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: c.ID, Spec: s, NoNewKeyring: false})
	if err != nil {
		return nil, fmt.Errorf("container %s: config: %w", c.ID, err)
	}
	if c.Spec.Security.Privileged {
		cfg.Devices = hostDevices() // like Docker's --privileged
	}
	return cfg, nil
}

// hostDevices lists the host's device nodes under /dev (not /dev/pts,
// /dev/shm, /dev/mqueue: the container has its own).
func hostDevices() []*devconfig.Device {
	var out []*devconfig.Device
	filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch path {
			case "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/.lxc", "/dev/.udev":
				return filepath.SkipDir
			}
			return nil
		}
		if path == "/dev/console" {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return nil
		}
		var typ devconfig.Type
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = devconfig.CharDevice
		case unix.S_IFBLK:
			typ = devconfig.BlockDevice
		default:
			return nil
		}
		out = append(out, &devconfig.Device{
			Rule: devconfig.Rule{Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), Permissions: "rwm", Allow: true},
			Path: path, FileMode: os.FileMode(st.Mode & 0o777), Uid: st.Uid, Gid: st.Gid,
		})
		return nil
	})
	return out
}

// withoutX32 drops the x32 ABI from a profile's architectures. Compiling it
// costs ~20 ms per container start; without it libseccomp's x86_64 filter
// refuses x32 system calls (bad-arch action), which kernels disable by
// default anyway (syscall.x32). i386 binaries keep working.
func withoutX32(arches []specs.Arch) []specs.Arch {
	out := arches[:0:0]
	for _, a := range arches {
		if a != specs.ArchX32 {
			out = append(out, a)
		}
	}
	return out
}
