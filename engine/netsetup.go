package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

// setupNetwork decides the container's network namespace: host, another
// container's, or a new one (made now, removed on rollback) that Start
// attaches the networks to. It also records the ports to publish.
func (e *Engine) setupNetwork(ctx context.Context, spec *runtime.Spec, d *containerData, cfg ContainerConfig,
	ic image.ImageConfig) error {
	mode := cfg.NetworkMode
	if mode == "host" || strings.HasPrefix(mode, "container:") {
		return e.sharedNetNS(ctx, spec, d, cfg)
	}
	nets := cfg.Networks
	if mode == "" && len(nets) == 0 || mode == "bridge" && len(nets) == 0 {
		nets = []NetworkAttachment{{Name: "bridge"}}
	}
	if mode == "none" {
		nets = nil
		d.NetworkMode = "none"
	} else {
		for _, n := range nets {
			if n.Name == "bridge" {
				continue
			}
			if _, err := e.Networks.Get(ctx, n.Name); err != nil {
				return fmt.Errorf("network %q: %w", n.Name, err)
			}
		}
		d.NetworkMode = nets[0].Name
	}
	d.Networks = nets
	ports, err := portSpecs(cfg, ic)
	if err != nil {
		return err
	}
	d.Ports = ports
	d.Exposed = exposedPorts(cfg, ic)
	for _, p := range ports {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		if !slices.Contains(d.Exposed, k) {
			d.Exposed = append(d.Exposed, k)
		}
	}
	sort.Strings(d.Exposed)
	// The namespace itself is made when the container starts (it goes when
	// it stops; see attachNetworks), as Docker makes its sandbox.
	spec.NetNSPath = e.Networks.NetNSPath(spec.ID)
	d.OwnNetNS = true
	return nil
}

// sharedNetNS sets up --network host and --network container:NAME.
func (e *Engine) sharedNetNS(ctx context.Context, spec *runtime.Spec, d *containerData, cfg ContainerConfig) error {
	mode := cfg.NetworkMode
	if mode == "host" {
		spec.HostNetwork = true
		d.NetworkMode = "host"
		if cfg.Hostname == "" {
			spec.Hostname, _ = os.Hostname()
		}
		return nil
	}
	other, err := e.Runtime.Get(ctx, strings.TrimPrefix(mode, "container:"))
	if err != nil {
		return fmt.Errorf("--network %s: %w", mode, err)
	}
	if !other.State.Running() {
		return fmt.Errorf("--network %s: container %q is not running: start it first: %w", mode, other.Name, errdefs.ErrFailedPrecondition)
	}
	if other.Spec.HostNetwork {
		spec.HostNetwork = true
	} else {
		spec.NetNSPath = other.Spec.NetNSPath
	}
	d.NetworkMode = "container:" + other.ID
	return nil
}

// exposedPorts merges the image's EXPOSE with --expose and -p ports.
func exposedPorts(cfg ContainerConfig, ic image.ImageConfig) []string {
	set := map[string]bool{}
	for _, p := range ic.ExposedPorts {
		set[normPort(p)] = true
	}
	for _, p := range cfg.Expose {
		set[normPort(p)] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func normPort(p string) string {
	if !strings.Contains(p, "/") {
		return p + "/tcp"
	}
	return p
}

// portSpecs parses -p specs and, with -P, adds every exposed port on a
// random host port.
func portSpecs(cfg ContainerConfig, ic image.ImageConfig) ([]PortSpec, error) {
	var out []PortSpec
	pms, err := network.ParsePorts(cfg.Ports)
	if err != nil {
		return nil, err
	}
	for _, p := range pms {
		out = append(out, PortSpec(p))
	}
	if cfg.PublishAll {
		for _, p := range exposedPorts(cfg, ic) {
			port, proto, _ := strings.Cut(p, "/")
			n, err := strconv.Atoi(port)
			if err != nil {
				continue
			}
			out = append(out, PortSpec{ContainerPort: n, Proto: proto})
		}
	}
	return out, nil
}

// etcPaths are the files the engine writes and bind-mounts.
func (e *Engine) etcPaths(id string) (hosts, hostname, resolv string) {
	dir := e.containerDir(id)
	return filepath.Join(dir, "hosts"), filepath.Join(dir, "hostname"), filepath.Join(dir, "resolv.conf")
}

// writeEtcFiles writes /etc/hosts, /etc/hostname and /etc/resolv.conf for
// the container, with its own addresses when eps are known.
func (e *Engine) writeEtcFiles(ctx context.Context, c *runtime.Container, d *containerData, eps []*network.Endpoint) error {
	hostsP, hostnameP, resolvP := e.etcPaths(c.ID)
	name := c.Spec.Hostname
	if d.NetworkMode == "host" {
		// The host's files, copied: the container must not edit the host's.
		return e.copyHostEtc(hostsP, hostnameP, resolvP, name)
	}
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, h := range d.Config.ExtraHosts {
		host, ip, _ := strings.Cut(h, ":")
		if ip == "host-gateway" && len(eps) > 0 {
			ip = eps[0].Gateway
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, host)
	}
	for _, ep := range eps {
		full := name
		if c.Spec.Domainname != "" {
			full = name + "." + c.Spec.Domainname + " " + name
		}
		fmt.Fprintf(&b, "%s\t%s\n", ep.IP, full)
	}
	if err := writeEtcFile(hostsP, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := writeEtcFile(hostnameP, []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	return writeEtcFile(resolvP, []byte(e.resolvConf(d, eps)), 0o644)
}

// resolvConf points containers on user networks at berth's DNS server (the
// network's gateway); others get the host's resolvers minus loopback ones.
func (e *Engine) resolvConf(d *containerData, eps []*network.Endpoint) string {
	var b strings.Builder
	var ns, search, opts []string
	host, _ := os.ReadFile("/etc/resolv.conf")
	for _, l := range strings.Split(string(host), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
				ns = append(ns, f[1])
			}
		case "search":
			search = f[1:]
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	for _, ep := range eps {
		if ep.Network != "bridge" {
			ns = []string{ep.Gateway}
			break
		}
	}
	if len(d.Config.DNS) > 0 {
		ns = d.Config.DNS
	}
	if len(d.Config.DNSSearch) > 0 {
		search = d.Config.DNSSearch
	}
	if len(d.Config.DNSOptions) > 0 {
		opts = d.Config.DNSOptions
	}
	for _, n := range ns {
		fmt.Fprintf(&b, "nameserver %s\n", n)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.String()
}

// etcMounts bind-mounts the engine's hosts, hostname and resolv.conf
// (another container's with --network container:X; the host's hosts and
// resolv.conf with --network host) unless the user mounts something there.
func (e *Engine) etcMounts(ctx context.Context, spec *runtime.Spec, d *containerData) error {
	hosts, hostname, resolv := e.etcPaths(spec.ID)
	if other, ok := strings.CutPrefix(d.NetworkMode, "container:"); ok {
		hosts, _, resolv = e.etcPaths(other)
	}
	taken := map[string]bool{}
	for _, m := range spec.Mounts {
		taken[m.Destination] = true
	}
	for _, m := range [][2]string{{hosts, "/etc/hosts"}, {hostname, "/etc/hostname"}, {resolv, "/etc/resolv.conf"}} {
		if !taken[m[1]] {
			spec.Mounts = append(spec.Mounts, runtime.Mount{Type: "bind", Source: m[0], Destination: m[1]})
		}
	}
	return nil
}

func (e *Engine) copyHostEtc(hostsP, hostnameP, resolvP, name string) error {
	for _, f := range [][2]string{{"/etc/hosts", hostsP}, {"/etc/resolv.conf", resolvP}} {
		data, err := os.ReadFile(f[0])
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		if err := writeEtcFile(f[1], data, 0o644); err != nil {
			return err
		}
	}
	return writeEtcFile(hostnameP, []byte(name+"\n"), 0o644)
}

// writeEtcFile writes one of the container's hosts, hostname and
// resolv.conf files in place: they are bind-mounted into the container, so
// replacing the file (write-temp-then-rename) would leave the container
// looking at the old inode; and they are written anew on every start, so
// they need no fsync either.
func writeEtcFile(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}
