package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
)

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Inspect returns the container's inspect document.
func (e *Engine) Inspect(ctx context.Context, ref string) (*Details, error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	eps, _ := e.Networks.Endpoints(ctx, "")
	return e.details(c, eps), nil
}

// List returns every container's inspect document, newest first.
func (e *Engine) List(ctx context.Context) ([]*Details, error) {
	cs, err := e.Runtime.List(ctx)
	if err != nil {
		return nil, err
	}
	eps, _ := e.Networks.Endpoints(ctx, "")
	out := make([]*Details, len(cs))
	for i, c := range cs {
		out[i] = e.details(c, eps)
	}
	return out, nil
}

// details builds the inspect document of c; eps are the known endpoints.
func (e *Engine) details(c *runtime.Container, eps []network.Endpoint) *Details {
	d, err := dataOf(c)
	if err != nil {
		d = &containerData{}
	}
	sp, st := c.Spec, c.State
	hosts, hostname, resolv := e.etcPaths(c.ID)
	out := &Details{
		ID: c.ID, Created: timeText(c.Created), Image: sp.ImageID, Name: "/" + c.Name,
		RestartCount: st.RestartCount, Driver: "overlay", Platform: "linux",
		HostsPath: hosts, HostnamePath: hostname, ResolvConfPath: resolv, LogPath: e.Runtime.LogPath(c.ID),
		Mounts: d.Mounts,
	}
	if len(sp.Process.Args) > 0 {
		out.Path, out.Args = sp.Process.Args[0], sp.Process.Args[1:]
	}
	if out.Args == nil {
		out.Args = []string{}
	}
	if out.Mounts == nil {
		out.Mounts = []MountDetails{}
	}
	out.State = stateDetails(st)
	out.HostConfig = hostConfig(sp, d)
	out.Config = configDetails(sp, d)
	out.NetworkSettings = e.networkSettings(c, d, eps)
	return out
}

func stateDetails(st runtime.State) StateDetails {
	s := StateDetails{Status: st.Status, Running: st.Status == runtime.StatusRunning || st.Status == runtime.StatusPaused,
		Paused: st.Status == runtime.StatusPaused, Restarting: st.Status == runtime.StatusRestarting,
		OOMKilled: st.OOMKilled, Dead: st.Status == runtime.StatusDead, Pid: st.Pid, ExitCode: st.ExitCode,
		Error: st.Error, StartedAt: timeText(st.StartedAt), FinishedAt: timeText(st.FinishedAt)}
	if h := st.Health; h != nil {
		s.Health = &HealthDetails{Status: h.Status, FailingStreak: h.FailingStreak, Log: []HealthLogEntry{}}
		for _, r := range h.Log {
			s.Health.Log = append(s.Health.Log, HealthLogEntry{Start: timeText(r.Start), End: timeText(r.End), ExitCode: r.ExitCode, Output: r.Output})
		}
	}
	return s
}

func hostConfig(sp runtime.Spec, d *containerData) HostConfigDetails {
	cfg := d.Config
	h := HostConfigDetails{
		NetworkMode: d.NetworkMode, RestartPolicy: RestartPolicyDetails{Name: sp.Restart.Name, MaximumRetryCount: sp.Restart.MaxRetries},
		AutoRemove: cfg.AutoRemove, CapAdd: sp.Security.CapAdd, CapDrop: sp.Security.CapDrop,
		DNS: cfg.DNS, DNSOptions: cfg.DNSOptions, DNSSearch: cfg.DNSSearch, ExtraHosts: cfg.ExtraHosts,
		Privileged: sp.Security.Privileged, PublishAllPorts: cfg.PublishAll, ReadonlyRootfs: sp.Rootfs.ReadOnly,
		SecurityOpt: cfg.SecurityOpt, Sysctls: sp.Sysctls, Memory: sp.Resources.Memory, NanoCpus: sp.Resources.NanoCPUs,
		CPUShares: sp.Resources.CPUShares, PortBindings: map[string][]PortBinding{}, Ulimits: []UlimitDetails{},
	}
	if h.RestartPolicy.Name == "" {
		h.RestartPolicy.Name = "no"
	}
	if sp.Resources.PidsLimit != 0 {
		p := sp.Resources.PidsLimit
		h.PidsLimit = &p
	}
	if cfg.Init {
		t := true
		h.Init = &t
	}
	for _, u := range sp.Ulimits {
		h.Ulimits = append(h.Ulimits, UlimitDetails{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, p := range d.Ports {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		hp := ""
		if p.HostPort != 0 {
			hp = fmt.Sprint(p.HostPort)
		}
		h.PortBindings[k] = append(h.PortBindings[k], PortBinding{HostIP: p.HostIP, HostPort: hp})
	}
	for _, m := range cfg.Mounts {
		switch m.Type {
		case "bind", "volume":
			if m.Source == "" {
				continue
			}
			b := m.Source + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			h.Binds = append(h.Binds, b)
		case "tmpfs":
			if h.Tmpfs == nil {
				h.Tmpfs = map[string]string{}
			}
			h.Tmpfs[m.Target] = strings.Join(m.Options, ",")
		}
	}
	return h
}

func configDetails(sp runtime.Spec, d *containerData) ConfigDetails {
	c := ConfigDetails{
		Hostname: sp.Hostname, Domainname: sp.Domainname, User: sp.Process.User,
		AttachStdin: sp.Process.OpenStdin, AttachStdout: true, AttachStderr: true,
		Tty: sp.Process.Terminal, OpenStdin: sp.Process.OpenStdin, StdinOnce: sp.Process.OpenStdin,
		Env: sp.Process.Env, Cmd: d.Cmd, Image: sp.Image, WorkingDir: sp.Process.Cwd,
		Entrypoint: d.Entrypoint, Labels: sp.Labels, StopSignal: sp.StopSignal, StopTimeout: sp.StopTimeout,
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if len(d.Exposed) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range d.Exposed {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	for _, m := range d.Mounts {
		if m.Type == "volume" && m.Name != "" && isAnon(d, m.Name) {
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			c.Volumes[m.Destination] = struct{}{}
		}
	}
	if h := d.Health; h != nil {
		c.Healthcheck = &HealthcheckDetails{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	}
	return c
}

func isAnon(d *containerData, name string) bool {
	for _, v := range d.AnonVolumes {
		if v == name {
			return true
		}
	}
	return false
}

func (e *Engine) networkSettings(c *runtime.Container, d *containerData, eps []network.Endpoint) NetworkSettings {
	ns := NetworkSettings{Networks: map[string]*EndpointDetails{}, Ports: map[string][]PortBinding{}}
	running := c.State.Running()
	if running {
		// The namespace exists from start to stop (as Docker's sandbox).
		ns.SandboxKey = c.Spec.NetNSPath
	}
	for _, p := range d.Exposed {
		ns.Ports[p] = nil
	}
	if running {
		for k, v := range e.PublishedPorts(c.ID) {
			ns.Ports[k] = v
		}
	}
	byName := map[string]network.Endpoint{}
	for _, ep := range eps {
		if ep.ContainerID == c.ID {
			byName[ep.Network] = ep
		}
	}
	for _, n := range d.Networks {
		ed := &EndpointDetails{Aliases: n.Aliases, DNSNames: nil}
		if ep, ok := byName[n.Name]; ok {
			ed.NetworkID, ed.Gateway, ed.IPAddress, ed.IPPrefixLen, ed.MacAddress = ep.NetworkID, ep.Gateway, ep.IP, ep.PrefixLen, ep.MAC
			ed.EndpointID = c.ID[:12] + "-" + ep.IfName
			ed.DNSNames = append([]string{c.Name, c.ID[:12]}, ep.Aliases...)
			if ns.IPAddress == "" && n.Name == "bridge" {
				ns.IPAddress, ns.Gateway, ns.MacAddress = ep.IP, ep.Gateway, ep.MAC
			}
		}
		ns.Networks[n.Name] = ed
	}
	if d.NetworkMode == "host" || d.NetworkMode == "none" {
		ns.Networks[d.NetworkMode] = &EndpointDetails{}
	}
	return ns
}

// PortLines is `container port`: "80/tcp -> 0.0.0.0:8080" lines, sorted,
// optionally only for one "PORT[/PROTO]".
func (e *Engine) PortLines(ctx context.Context, ref, only string) ([]string, error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if only != "" {
		only = normPort(only)
	}
	var out []string
	for k, bs := range e.PublishedPorts(c.ID) {
		if only != "" && k != only {
			continue
		}
		for _, b := range bs {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			if only != "" {
				out = append(out, ip+":"+b.HostPort)
			} else {
				out = append(out, fmt.Sprintf("%s -> %s:%s", k, ip, b.HostPort))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
