// Package enginebackend adapts berth's engine to the interfaces compose's
// executor drives (compose.Containers, Networks, Volumes, Images, Builder). It is the
// only place where compose's ContainerSpec becomes an engine.ContainerConfig.
package enginebackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/network"
	"github.com/berth/berth/runtime"
	"github.com/berth/berth/volume"
)

// New returns a compose.Backend over e.
func New(e *engine.Engine) compose.Backend {
	return compose.Backend{Containers: containers{e}, Networks: networks{e}, Volumes: volumes{e}, Images: images{e}, Builder: builds{e}}
}

type containers struct{ e *engine.Engine }

func (c containers) Create(ctx context.Context, spec compose.ContainerSpec) (string, error) {
	cfg, err := Config(spec)
	if err != nil {
		return "", err
	}
	ct, err := c.e.Create(ctx, cfg)
	if err != nil {
		return "", err
	}
	return ct.ID, nil
}

func (c containers) Start(ctx context.Context, id string) error {
	return c.e.Start(ctx, id, engine.StartOptions{})
}

func (c containers) Stop(ctx context.Context, id string, timeout *time.Duration) error {
	return c.e.Stop(ctx, id, timeout)
}

func (c containers) Remove(ctx context.Context, id string, force bool) error {
	return c.e.Remove(ctx, id, engine.RemoveOptions{Force: force})
}

func (c containers) Inspect(ctx context.Context, id string) (compose.ContainerState, error) {
	ct, err := c.e.Runtime.Get(ctx, id)
	if err != nil {
		return compose.ContainerState{}, err
	}
	st := compose.ContainerState{Status: ct.State.Status, ExitCode: ct.State.ExitCode}
	switch {
	case ct.State.Health != nil && ct.State.Health.Status != "":
		st.Health = ct.State.Health.Status
	case ct.Spec.Health != nil && !isNone(ct.Spec.Health.Test):
		st.Health = "starting"
	}
	return st, nil
}

func isNone(test []string) bool { return len(test) == 0 || test[0] == "NONE" }

func (c containers) List(ctx context.Context, project string) ([]compose.ObservedContainer, error) {
	all, err := c.e.Runtime.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []compose.ObservedContainer
	for _, ct := range all {
		l := ct.Spec.Labels
		if l[compose.LabelProject] != project {
			continue
		}
		n, _ := strconv.Atoi(l[compose.LabelNumber])
		out = append(out, compose.ObservedContainer{ID: ct.ID, Name: ct.Name, Service: l[compose.LabelService],
			Number: n, OneOff: l[compose.LabelOneOff] == "True", ConfigHash: l[compose.LabelConfigHash],
			ImageID: l[compose.LabelImage], State: ct.State.Status})
	}
	return out, nil
}

type networks struct{ e *engine.Engine }

func (n networks) Create(ctx context.Context, s compose.NetworkSpec) error {
	_, err := n.e.Networks.Create(ctx, network.CreateOptions{Name: s.Name, Subnet: s.Subnet, Gateway: s.Gateway,
		Internal: s.Internal, Labels: s.Labels, Options: s.Options})
	return err
}

func (n networks) Remove(ctx context.Context, name string) error {
	return n.e.RemoveNetwork(ctx, name)
}

func (n networks) Exists(ctx context.Context, name string) (bool, error) {
	_, err := n.e.Networks.Get(ctx, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (n networks) List(ctx context.Context, project string) ([]string, error) {
	all, err := n.e.Networks.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, nw := range all {
		if nw.Labels[compose.LabelProject] == project {
			out = append(out, nw.Name)
		}
	}
	return out, nil
}

type volumes struct{ e *engine.Engine }

func (v volumes) Create(ctx context.Context, s compose.VolumeSpec) error {
	if _, err := v.e.Volumes.Get(ctx, s.Name); err == nil {
		return fmt.Errorf("volume %q: %w", s.Name, errdefs.ErrAlreadyExists)
	}
	_, err := v.e.Volumes.Create(ctx, s.Name, volume.CreateOptions{Labels: s.Labels, Options: s.Options})
	return err
}

func (v volumes) Remove(ctx context.Context, name string) error {
	return v.e.Volumes.Remove(ctx, name, v.e.VolumeInUse(ctx))
}

func (v volumes) Exists(ctx context.Context, name string) (bool, error) {
	_, err := v.e.Volumes.Get(ctx, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (v volumes) List(ctx context.Context, project string) ([]string, error) {
	all, err := v.e.Volumes.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, vol := range all {
		if vol.Labels[compose.LabelProject] == project {
			out = append(out, vol.Name)
		}
	}
	return out, nil
}

type images struct{ e *engine.Engine }

func (i images) Exists(ctx context.Context, ref string) (string, error) {
	img, err := i.e.Images.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// Config converts a compose container spec to the engine's container
// config. Bind sources that the short syntax may create are created.
func Config(s compose.ContainerSpec) (engine.ContainerConfig, error) {
	c := engine.ContainerConfig{
		Image: s.Image, Name: s.Name, Cmd: s.Command, Env: s.Env, WorkingDir: s.WorkingDir, User: s.User,
		Hostname: s.Hostname, Domainname: s.Domainname, Labels: s.Labels, Expose: s.Expose,
		NetworkMode: s.NetworkMode, DNS: s.DNS, DNSSearch: s.DNSSearch, DNSOptions: s.DNSOptions,
		ExtraHosts: s.ExtraHosts, ReadOnly: s.ReadOnly, Privileged: s.Privileged, CapAdd: s.CapAdd,
		CapDrop: s.CapDrop, Sysctls: s.Sysctls, Init: s.Init, StopSignal: s.StopSignal,
		OpenStdin: s.StdinOpen, Tty: s.Tty,
		Resources: engine.Resources{Memory: s.Resources.Memory, NanoCPUs: s.Resources.NanoCPUs, PidsLimit: s.Resources.Pids},
	}
	if c.Image == "" {
		c.Image = s.ImageID
	}
	c.PID, c.IPC = s.Pid, s.Ipc
	if s.Entrypoint != nil {
		c.Entrypoint, c.EntrypointSet = s.Entrypoint, true
	}
	if s.Hostname == "" && s.NetworkMode == "" {
		c.Hostname = s.Name
	}
	if s.StopTimeout != nil {
		secs := int(s.StopTimeout.Seconds())
		c.StopTimeout = &secs
	}
	for _, opt := range s.SecurityOpt {
		if err := engine.ParseSecurityOpt(&c, opt); err != nil {
			return c, fmt.Errorf("service %q: %w", s.Service, err)
		}
	}
	if s.Restart != "" {
		p, err := engine.ParseRestart(s.Restart)
		if err != nil {
			return c, fmt.Errorf("service %q: %w", s.Service, err)
		}
		c.Restart = p
	}
	for _, u := range s.Ulimits {
		c.Ulimits = append(c.Ulimits, engine.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, p := range s.Ports {
		c.Ports = append(c.Ports, portSpec(p))
	}
	for _, n := range s.Networks {
		c.Networks = append(c.Networks, engine.NetworkAttachment{Name: n.Name, Aliases: n.Aliases, IP: n.IPv4Address, MAC: n.MacAddress})
	}
	if h := s.Healthcheck; h != nil {
		c.Health = &engine.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
		if h.Disable {
			c.Health.Test = []string{"NONE"}
		}
	}
	mounts, err := mounts(s)
	if err != nil {
		return c, err
	}
	c.Mounts = mounts
	return c, nil
}

func portSpec(p compose.Port) string {
	var parts []string
	if p.HostIP != "" {
		parts = append(parts, p.HostIP)
	}
	if p.Published != "" || p.HostIP != "" {
		parts = append(parts, p.Published)
	}
	parts = append(parts, strconv.Itoa(int(p.Target)))
	spec := strings.Join(parts, ":")
	if p.Protocol != "" && p.Protocol != "tcp" {
		spec += "/" + p.Protocol
	}
	return spec
}

func mounts(s compose.ContainerSpec) ([]engine.Mount, error) {
	var out []engine.Mount
	for _, m := range s.Mounts {
		em := engine.Mount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, NoCopy: m.NoCopy}
		switch m.Type {
		case compose.MountBind:
			if _, err := os.Stat(m.Source); os.IsNotExist(err) && m.CreateHostPath {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, fmt.Errorf("service %q: bind source %q: %w", s.Service, m.Source, err)
				}
			}
		case compose.MountTmpfs:
			if m.TmpfsSize > 0 {
				em.Options = append(em.Options, fmt.Sprintf("size=%d", m.TmpfsSize))
			}
			if m.TmpfsMode != 0 {
				em.Options = append(em.Options, fmt.Sprintf("mode=%o", m.TmpfsMode))
			}
		}
		out = append(out, em)
	}
	for _, f := range s.Files {
		out = append(out, engine.Mount{Type: compose.MountBind, Source: f.Source, Target: f.Target, ReadOnly: true})
	}
	return out, nil
}

// Logs returns the runtime's log reader as a compose.LogSource.
func Logs(e *engine.Engine) compose.LogSource { return logs{e} }

type logs struct{ e *engine.Engine }

func (l logs) Logs(ctx context.Context, id string, o compose.LogReadOptions, stdout, stderr io.Writer) error {
	return l.e.Runtime.Logs(ctx, id, runtime.LogOptions{Follow: o.Follow, Timestamps: o.Timestamps,
		Tail: o.Tail, Since: o.Since, Until: o.Until}, stdout, stderr)
}
