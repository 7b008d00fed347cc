package engine

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/portproxy"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

// MonitorHooks are the hooks `berth __monitor` passes to runtime.RunMonitor:
// before each start the container's published ports are bound (a port in
// use fails that start with an error naming it) and proxied to its address
// until the container stopped for good. The hook only binds: the monitor
// serves the sockets (runtime's portServer) wherever it runs.
func (e *Engine) MonitorHooks() runtime.MonitorHooks {
	return runtime.MonitorHooks{BeforeStart: e.beforeStart}
}

func (e *Engine) beforeStart(ctx context.Context, c *runtime.Container) (io.Closer, error) {
	d, err := dataOf(c)
	if err != nil || len(d.Ports) == 0 || len(d.Networks) == 0 {
		return nil, err
	}
	eps, err := e.Networks.Endpoints(ctx, "")
	if err != nil {
		return nil, err
	}
	target := ""
	for _, ep := range eps {
		if ep.ContainerID == c.ID && ep.Network == d.Networks[0].Name {
			target = ep.IP
		}
	}
	if target == "" {
		return nil, fmt.Errorf("publish ports: not attached to network %q: %w", d.Networks[0].Name, errdefs.ErrFailedPrecondition)
	}
	pms := make([]network.PortMapping, len(d.Ports))
	for i, p := range d.Ports {
		pms[i] = network.PortMapping(p)
	}
	proxy, bound, err := network.BindPorts(ctx, pms, target)
	if err != nil {
		return nil, fmt.Errorf("publish ports: %w", err) // the runtime names the container
	}
	ps := make([]PortSpec, len(bound))
	for i, p := range bound {
		ps[i] = PortSpec(p)
		if ps[i].HostIP == "" {
			ps[i].HostIP = "0.0.0.0"
		}
	}
	// Valid while the container runs (the listeners live in its monitor):
	// no fsync.
	if err := atomicfile.WriteJSONNoSync(e.portsFile(c.ID), ps, 0o644); err != nil {
		proxy.Close()
		return nil, err
	}
	return portsCloser{proxy, e.portsFile(c.ID)}, nil
}

// portsCloser stops proxying and forgets the published ports; the
// proxy's Serve and Files reach the runtime through it.
type portsCloser struct {
	*portproxy.Proxy
	file string
}

func (p portsCloser) Close() error {
	os.Remove(p.file)
	return p.Proxy.Close()
}
