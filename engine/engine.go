package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/berth/berth/dns"
	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
	"github.com/berth/berth/volume"
)

// Engine ties berth's leaf packages together for one data root.
type Engine struct {
	Runtime  *runtime.Manager
	Images   *image.Store
	Volumes  *volume.Store
	Networks *network.Manager
	// Layout is the data root's directories.
	Layout layout.Layout
	// Self is the argv prefix that re-runs berth on this root
	// ([exe] or [exe, "--root", R]); hooks and the DNS server use it.
	Self []string
}

// Options configure New.
type Options struct {
	Layout  layout.Layout
	Runtime *runtime.Manager // the caller's, built with its monitor command
	Self    []string
}

// New opens the stores of o.Layout.
func New(o Options) (*Engine, error) {
	l := o.Layout
	for _, d := range []string{l.Data, l.Run} {
		if err := layout.MkdirSpread(d); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	imgs, err := image.New(image.Options{Root: l.Images()})
	if err != nil {
		return nil, err
	}
	vols, err := volume.New(volume.Options{Root: l.Volumes()})
	if err != nil {
		return nil, err
	}
	nets, err := network.New(network.Options{Root: l.Networks(), RunRoot: l.Network(), NetNSDir: l.NetNS()})
	if err != nil {
		return nil, err
	}
	return &Engine{Runtime: o.Runtime, Images: imgs, Volumes: vols, Networks: nets, Layout: l, Self: o.Self}, nil
}

// extraKey is where the engine keeps its data in runtime.Spec.Extra.
const extraKey = "berth.engine"

// containerData is the engine's own record of a container, stored in the
// runtime spec: what the user asked for, and what the engine made for it.
type containerData struct {
	Config ContainerConfig
	// Networks to attach on start, in order ("bridge" for the default).
	Networks []NetworkAttachment
	// NetworkMode as inspect shows it: bridge, none, host, container:<id>, or a network name.
	NetworkMode string
	// OwnNetNS is set when the engine made the netns (removed with the container).
	OwnNetNS bool
	// Ports are the -p/-P mappings to publish (host port 0 = any).
	Ports []PortSpec
	// Mounts are the mounts as inspect shows them.
	Mounts []MountDetails
	// AnonVolumes were created for this container (removed by rm -v).
	AnonVolumes []string
	// Exposed are the exposed ports ("80/tcp").
	Exposed []string
	// Entrypoint and Cmd as merged with the image's, for inspect.
	Entrypoint, Cmd []string
	// Health is the healthcheck as configured (after merging the image's).
	Health *HealthConfig `json:",omitempty"`
}

// PortSpec is one published port as the engine records it.
type PortSpec struct {
	HostIP        string
	HostPort      int
	ContainerPort int
	Proto         string
}

func dataOf(c *runtime.Container) (*containerData, error) {
	var d containerData
	raw, ok := c.Spec.Extra[extraKey]
	if !ok {
		return &d, nil
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("container %q: engine data: %w", c.Name, err)
	}
	return &d, nil
}

// containerDir is the container's data directory (made by runtime.Create).
func (e *Engine) containerDir(id string) string { return filepath.Join(e.Layout.Containers(), id) }

// portsFile holds the ports actually published by the monitor's hook.
func (e *Engine) portsFile(id string) string { return filepath.Join(e.containerDir(id), "ports.json") }

// PublishedPorts returns the host side of the container's published ports
// while it runs ("80/tcp" -> bindings).
func (e *Engine) PublishedPorts(id string) map[string][]PortBinding {
	var ps []PortSpec
	if err := atomicfile.ReadJSON(e.portsFile(id), &ps); err != nil {
		return nil
	}
	out := map[string][]PortBinding{}
	for _, p := range ps {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		out[k] = append(out[k], PortBinding{HostIP: p.HostIP, HostPort: fmt.Sprint(p.HostPort)})
	}
	return out
}

// dnsCommand is the argv that runs berth's DNS server on this root.
func (e *Engine) dnsCommand() []string { return append(append([]string{}, e.Self...), "__dns") }

// exitedCommand is the OnExit hook's argv.
func (e *Engine) exitedCommand(id string) []string {
	return append(append([]string{}, e.Self...), "__exited", id)
}

// RefreshDNS recomputes the DNS records from the networks' endpoints and
// hands them to the DNS server (started when a user network exists).
// Endpoints live from a container's start until it stopped for good, so
// they are exactly the names that should resolve. The records are
// computed under the snapshot's lock: of two berth processes refreshing
// at once, the later one sees the other's endpoints. Concurrent calls in
// one process share refreshes (see refreshBatch).
func (e *Engine) RefreshDNS(ctx context.Context) error {
	return batchFor(e.Layout.DNS()).do(ctx, e.refreshDNS)
}

func (e *Engine) refreshDNS(ctx context.Context) error {
	userNets := 0
	err := dns.Update(ctx, e.Layout.DNS(), func(s *dns.Snapshot) error {
		nets, err := e.Networks.List(ctx)
		if err != nil {
			return err
		}
		eps, err := e.Networks.Endpoints(ctx, "")
		if err != nil {
			return err
		}
		s.Networks, s.Records = nil, nil
		// BERTH_DNS_UPSTREAM of the caller goes into the snapshot, so a
		// server restarted later by a process without it keeps using it.
		up, err := dns.UpstreamsFromEnv()
		if err != nil {
			return err
		}
		if len(up) > 0 {
			s.Upstreams = up
		}
		for _, n := range nets {
			if n.Name == "bridge" {
				continue // like Docker: no name resolution on the default bridge
			}
			s.Networks = append(s.Networks, dns.NetworkView{Name: n.Name, Gateway: n.Gateway, Subnet: n.Subnet, Bridge: n.Bridge})
		}
		for _, ep := range eps {
			if ep.Network == "bridge" {
				continue
			}
			names := append([]string{ep.ContainerName, shortID(ep.ContainerID)}, ep.Aliases...)
			s.Records = append(s.Records, dns.Record{Network: ep.Network, Names: names, IP: ep.IP})
		}
		userNets = len(s.Networks)
		return nil
	})
	if err != nil {
		return err
	}
	if userNets == 0 {
		// Nothing to serve: stop the server now rather than let it linger.
		_, err := dns.StopIfIdle(ctx, e.Layout.DNS())
		return err
	}
	return dns.Ensure(ctx, e.Layout.DNS(), e.dnsCommand())
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
