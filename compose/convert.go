package compose

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// convertProject copies compose-go's project into berth's structs.
func convertProject(cp *types.Project) (*Project, error) {
	p := &Project{
		Name:        cp.Name,
		WorkingDir:  cp.WorkingDir,
		ConfigFiles: append([]string(nil), cp.ComposeFiles...),
		Networks:    map[string]Network{},
		Volumes:     map[string]Volume{},
		Secrets:     map[string]FileObject{},
		Configs:     map[string]FileObject{},
	}
	profiles := map[string]bool{}
	for name, s := range cp.DisabledServices {
		p.DisabledServices = append(p.DisabledServices, name)
		for _, pr := range s.Profiles {
			profiles[pr] = true
		}
	}
	for _, s := range cp.Services {
		for _, pr := range s.Profiles {
			profiles[pr] = true
		}
	}
	p.Profiles = sortedKeys(profiles)
	sort.Strings(p.DisabledServices)
	for key, n := range cp.Networks {
		p.Networks[key] = convertNetwork(key, n)
		if n.Driver != "" && n.Driver != "bridge" && !bool(n.External) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("network %q: driver %q is not supported by berth, a bridge is used", key, n.Driver))
		}
	}
	for key, v := range cp.Volumes {
		p.Volumes[key] = Volume{Name: v.Name, External: bool(v.External), Driver: v.Driver,
			Labels: copyMap(v.Labels), Options: copyMap(v.DriverOpts)}
		if v.Driver != "" && v.Driver != "local" && !bool(v.External) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("volume %q: driver %q is not supported by berth, the local driver is used", key, v.Driver))
		}
	}
	for key, s := range cp.Secrets {
		p.Secrets[key] = FileObject{Name: s.Name, File: s.File, Environment: s.Environment, Content: s.Content, External: bool(s.External)}
	}
	for key, c := range cp.Configs {
		p.Configs[key] = FileObject{Name: c.Name, File: c.File, Environment: c.Environment, Content: c.Content, External: bool(c.External)}
	}
	for _, name := range sortedKeys(cp.Services) {
		s, err := convertService(cp.Services[name])
		if err != nil {
			return nil, err
		}
		if s.Image == "" && s.Build != nil {
			s.Image = p.Name + "-" + s.Name // the name Docker Compose gives a built image
		}
		p.Services = append(p.Services, s)
	}
	return p, nil
}

func convertNetwork(key string, n types.NetworkConfig) Network {
	out := Network{Name: n.Name, External: bool(n.External), Internal: n.Internal, Driver: n.Driver,
		Labels: copyMap(n.Labels), Options: copyMap(n.DriverOpts)}
	if out.Name == "" {
		out.Name = key
	}
	if len(n.Ipam.Config) > 0 && n.Ipam.Config[0] != nil {
		out.Subnet = n.Ipam.Config[0].Subnet
		out.Gateway = n.Ipam.Config[0].Gateway
	}
	return out
}

// convertService copies one service; it is long because a service has many
// keys, each a plain copy.
func convertService(s types.ServiceConfig) (Service, error) {
	out := Service{
		Name: s.Name, Image: s.Image, PullPolicy: s.PullPolicy,
		Command: nilOrCopy(s.Command), Entrypoint: nilOrCopy(s.Entrypoint),
		Environment: map[string]string{}, WorkingDir: s.WorkingDir, User: s.User,
		Hostname: s.Hostname, Domainname: s.DomainName, ContainerName: s.ContainerName,
		Labels: copyMap(s.Labels), NetworkMode: s.NetworkMode,
		DNS: s.DNS, DNSSearch: s.DNSSearch, DNSOptions: s.DNSOpts,
		Restart: s.Restart, Scale: s.GetScale(), Init: s.Init, ReadOnly: s.ReadOnly,
		Privileged: s.Privileged, CapAdd: s.CapAdd, CapDrop: s.CapDrop, SecurityOpt: s.SecurityOpt,
		Sysctls: copyMap(s.Sysctls), StopSignal: s.StopSignal, StdinOpen: s.StdinOpen, Tty: s.Tty,
		Pid: s.Pid, Ipc: s.Ipc, Profiles: s.Profiles, Links: s.Links, Expose: []string(s.Expose),
	}
	for k, v := range s.Environment {
		if v != nil {
			out.Environment[k] = *v
		}
	}
	if s.Build != nil {
		out.Build = &Build{Context: s.Build.Context, Dockerfile: s.Build.Dockerfile, Target: s.Build.Target, Args: map[string]string{},
			Labels: copyMap(s.Build.Labels), Network: s.Build.Network}
		for k, v := range s.Build.Args {
			if v != nil {
				out.Build.Args[k] = *v
			}
		}
	}
	if s.StopGracePeriod != nil {
		d := time.Duration(*s.StopGracePeriod)
		out.StopGrace = &d
	}
	for _, host := range sortedKeys(s.ExtraHosts) {
		for _, ip := range s.ExtraHosts[host] {
			out.ExtraHosts = append(out.ExtraHosts, host+":"+ip)
		}
	}
	for _, p := range s.Ports {
		out.Ports = append(out.Ports, Port{HostIP: p.HostIP, Published: p.Published, Target: p.Target, Protocol: p.Protocol})
	}
	mounts, err := convertMounts(s)
	if err != nil {
		return Service{}, err
	}
	out.Mounts = mounts
	for _, key := range s.NetworksByPriority() {
		n := s.Networks[key]
		sn := ServiceNetwork{Key: key}
		if n != nil {
			sn.Aliases, sn.IPv4Address, sn.IPv6Address, sn.MacAddress, sn.Priority = n.Aliases, n.Ipv4Address, n.Ipv6Address, n.MacAddress, n.Priority
		}
		out.Networks = append(out.Networks, sn)
	}
	out.Healthcheck = convertHealth(s.HealthCheck)
	out.Resources = convertResources(s)
	for _, name := range sortedKeys(s.Ulimits) {
		u := s.Ulimits[name]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		out.Ulimits = append(out.Ulimits, Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	for _, r := range s.Secrets {
		out.Secrets = append(out.Secrets, fileRef(types.FileReferenceConfig(r), "/run/secrets/"))
	}
	for _, r := range s.Configs {
		out.Configs = append(out.Configs, fileRef(types.FileReferenceConfig(r), "/"))
	}
	for _, name := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[name]
		cond := d.Condition
		if cond == "" {
			cond = ConditionStarted
		}
		out.DependsOn = append(out.DependsOn, Dependency{Service: name, Condition: cond, Required: d.Required, Restart: d.Restart})
	}
	return out, nil
}

func convertMounts(s types.ServiceConfig) ([]Mount, error) {
	var out []Mount
	for _, v := range s.Volumes {
		m := Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			if v.Volume != nil {
				m.NoCopy, m.Subpath = v.Volume.NoCopy, v.Volume.Subpath
			}
		case types.VolumeTypeBind:
			m.CreateHostPath = v.Bind != nil && bool(v.Bind.CreateHostPath)
		case types.VolumeTypeTmpfs:
			if v.Tmpfs != nil {
				m.TmpfsSize, m.TmpfsMode = int64(v.Tmpfs.Size), v.Tmpfs.Mode
			}
		default:
			return nil, fmt.Errorf("service %q: volume %q: type %q is not supported by berth (use volume, bind or tmpfs)", s.Name, v.Target, v.Type)
		}
		out = append(out, m)
	}
	for _, t := range s.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		m := Mount{Type: MountTmpfs, Target: target}
		for _, o := range strings.Split(opts, ",") {
			if o == "ro" {
				m.ReadOnly = true
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func convertHealth(h *types.HealthCheckConfig) *Healthcheck {
	if h == nil {
		return nil
	}
	out := &Healthcheck{Test: append([]string(nil), h.Test...), Disable: h.Disable}
	if len(out.Test) > 0 && out.Test[0] == "NONE" {
		out.Disable = true
	}
	dur := func(d *types.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return time.Duration(*d)
	}
	out.Interval, out.Timeout = dur(h.Interval), dur(h.Timeout)
	out.StartPeriod, out.StartInterval = dur(h.StartPeriod), dur(h.StartInterval)
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

func convertResources(s types.ServiceConfig) Resources {
	r := Resources{Memory: int64(s.MemLimit), NanoCPUs: int64(float64(s.CPUS) * 1e9), Pids: s.PidsLimit}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		l := s.Deploy.Resources.Limits
		if l.MemoryBytes != 0 {
			r.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs != 0 {
			r.NanoCPUs = int64(float64(l.NanoCPUs) * 1e9)
		}
		if l.Pids != 0 {
			r.Pids = l.Pids
		}
	}
	return r
}

func fileRef(r types.FileReferenceConfig, dir string) FileRef {
	out := FileRef{Source: r.Source, Target: r.Target, UID: r.UID, GID: r.GID}
	if out.Target == "" {
		out.Target = dir + r.Source
	} else if !path.IsAbs(out.Target) {
		out.Target = "/run/secrets/" + out.Target
		if dir == "/" {
			out.Target = "/" + r.Target
		}
	}
	if r.Mode != nil {
		m := uint32(*r.Mode)
		out.Mode = &m
	}
	return out
}

func nilOrCopy(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

func copyMap[M ~map[string]string](m M) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any, M ~map[string]V](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
