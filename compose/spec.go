package compose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// ContainerSpec is everything one container of a service needs, with every
// name resolved (networks, volumes, service:X references) and every path
// absolute. It is what Containers.Create receives.
type ContainerSpec struct {
	Name    string
	Project string
	Service string
	Number  int
	OneOff  bool

	Image      string
	ImageID    string
	Command    []string // nil: the image's
	Entrypoint []string // nil: the image's
	Env        []string // KEY=VALUE, sorted
	WorkingDir string
	User       string
	Hostname   string
	Domainname string
	Labels     map[string]string

	Ports  []Port
	Expose []string
	Mounts []Mount // volume Source is the real volume name; bind Source an absolute path
	Files  []FileMount

	Networks    []SpecNetwork
	NetworkMode string // "", "host", "none", "container:<name>"
	DNS         []string
	DNSSearch   []string
	DNSOptions  []string
	ExtraHosts  []string // "host:ip"

	Healthcheck *Healthcheck
	Restart     string
	Resources   Resources
	Init        bool
	ReadOnly    bool
	Privileged  bool
	CapAdd      []string
	CapDrop     []string
	SecurityOpt []string
	Ulimits     []Ulimit
	Sysctls     map[string]string
	StopSignal  string
	StopTimeout *time.Duration
	StdinOpen   bool
	Tty         bool
	Pid         string // "", "host", "container:<name>"
	Ipc         string
}

// SpecNetwork attaches the container to one network by its real name.
type SpecNetwork struct {
	Name        string
	Aliases     []string // the service name first, then the file's aliases and link aliases
	IPv4Address string
	IPv6Address string
	MacAddress  string
}

// FileMount is a secret or config file: a host file (Source) or content the
// executor writes under the project's data folder before creating the
// container (Content, when Source is empty). Always read-only.
type FileMount struct {
	Target  string
	Source  string
	Content []byte
	UID     string
	GID     string
	Mode    *uint32
	Secret  bool
	Name    string // the secret's or config's key
	Project string
}

// BuildSpec returns the ContainerSpec of a service's container number n
// running image imageID. Environment-sourced secrets read p.Environment.
func BuildSpec(p *Project, s *Service, n int, imageID string) (ContainerSpec, error) {
	hash := ConfigHash(*s, imageID)
	c := ContainerSpec{
		Name: ContainerName(p.Name, s, n), Project: p.Name, Service: s.Name, Number: n,
		Image: s.Image, ImageID: imageID,
		Command: s.Command, Entrypoint: s.Entrypoint, Env: envList(s.Environment),
		WorkingDir: s.WorkingDir, User: s.User, Hostname: s.Hostname, Domainname: s.Domainname,
		Labels: ContainerLabels(p, s, n, false, hash, imageID),
		Ports:  s.Ports, Expose: s.Expose,
		DNS: s.DNS, DNSSearch: s.DNSSearch, DNSOptions: s.DNSOptions, ExtraHosts: s.ExtraHosts,
		Healthcheck: s.Healthcheck, Restart: s.Restart, Resources: s.Resources,
		Init: s.Init != nil && *s.Init, ReadOnly: s.ReadOnly, Privileged: s.Privileged,
		CapAdd: s.CapAdd, CapDrop: s.CapDrop, SecurityOpt: s.SecurityOpt, Ulimits: s.Ulimits,
		Sysctls: s.Sysctls, StopSignal: s.StopSignal, StopTimeout: s.StopGrace,
		StdinOpen: s.StdinOpen, Tty: s.Tty,
	}
	var err error
	if c.NetworkMode, err = resolveMode(p, s, "network_mode", s.NetworkMode); err != nil {
		return ContainerSpec{}, err
	}
	if c.Pid, err = resolveMode(p, s, "pid", s.Pid); err != nil {
		return ContainerSpec{}, err
	}
	if c.Ipc, err = resolveMode(p, s, "ipc", s.Ipc); err != nil {
		return ContainerSpec{}, err
	}
	if c.Mounts, err = specMounts(p, s); err != nil {
		return ContainerSpec{}, err
	}
	if c.NetworkMode == "" {
		if c.Networks, err = specNetworks(p, s); err != nil {
			return ContainerSpec{}, err
		}
	}
	if c.Files, err = specFiles(p, s); err != nil {
		return ContainerSpec{}, err
	}
	return c, nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// resolveMode turns "service:X" into "container:<X's first container>".
func resolveMode(p *Project, s *Service, key, mode string) (string, error) {
	name, ok := strings.CutPrefix(mode, "service:")
	if !ok {
		return mode, nil
	}
	target, found := p.Service(name)
	if !found {
		return "", fmt.Errorf("service %q: %s %q: service %q is not in the project: %w", s.Name, key, mode, name, errdefs.ErrInvalidArgument)
	}
	return "container:" + ContainerName(p.Name, target, 1), nil
}

func specMounts(p *Project, s *Service) ([]Mount, error) {
	out := make([]Mount, 0, len(s.Mounts))
	for _, m := range s.Mounts {
		if m.Type == MountVolume && m.Source != "" {
			v, ok := p.Volumes[m.Source]
			if !ok {
				return nil, fmt.Errorf("service %q: volume %q is not declared under the top-level volumes: %w", s.Name, m.Source, errdefs.ErrInvalidArgument)
			}
			m.Source = v.Name
		}
		out = append(out, m)
	}
	return out, nil
}

func specNetworks(p *Project, s *Service) ([]SpecNetwork, error) {
	var out []SpecNetwork
	for _, sn := range s.Networks {
		n, ok := p.Networks[sn.Key]
		if !ok {
			return nil, fmt.Errorf("service %q: network %q is not declared under the top-level networks: %w", s.Name, sn.Key, errdefs.ErrInvalidArgument)
		}
		aliases := append([]string{s.Name}, sn.Aliases...)
		aliases = append(aliases, linkAliases(p, s.Name)...)
		out = append(out, SpecNetwork{Name: n.Name, Aliases: dedupe(aliases),
			IPv4Address: sn.IPv4Address, IPv6Address: sn.IPv6Address, MacAddress: sn.MacAddress})
	}
	return out, nil
}

// linkAliases returns the aliases other services give service through
// links: "db:database" makes db answer "database".
func linkAliases(p *Project, service string) []string {
	var out []string
	for _, o := range p.Services {
		for _, l := range o.Links {
			name, alias, ok := strings.Cut(l, ":")
			if ok && name == service && alias != "" {
				out = append(out, alias)
			}
		}
	}
	sort.Strings(out)
	return out
}

func specFiles(p *Project, s *Service) ([]FileMount, error) {
	var out []FileMount
	add := func(refs []FileRef, objs map[string]FileObject, kind string, secret bool) error {
		for _, r := range refs {
			o, ok := objs[r.Source]
			if !ok {
				return fmt.Errorf("service %q: %s %q is not declared at the top level: %w", s.Name, kind, r.Source, errdefs.ErrInvalidArgument)
			}
			fm := FileMount{Target: r.Target, UID: r.UID, GID: r.GID, Mode: r.Mode, Secret: secret, Name: r.Source, Project: p.Name}
			switch {
			case o.External:
				return fmt.Errorf("service %q: %s %q: external %ss are not supported by berth: use file, environment or content: %w", s.Name, kind, r.Source, kind, errdefs.ErrNotImplemented)
			case o.File != "":
				fm.Source = o.File
			case o.Environment != "":
				fm.Content = []byte(p.Environment[o.Environment])
			default:
				fm.Content = []byte(o.Content)
			}
			out = append(out, fm)
		}
		return nil
	}
	if err := add(s.Secrets, p.Secrets, "secret", true); err != nil {
		return nil, err
	}
	if err := add(s.Configs, p.Configs, "config", false); err != nil {
		return nil, err
	}
	return out, nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
