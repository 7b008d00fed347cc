package engine

import (
	"net"
	"os"
	"strings"
	"time"
)

// RunFlags are `docker run`'s flags as the command line gives them (plain
// strings and lists). Config turns them into a ContainerConfig.
type RunFlags struct {
	PID, IPC    string // --pid, --ipc
	Name        string
	Entrypoint  string
	EntrySet    bool // --entrypoint was given (even as "")
	Env         []string
	EnvFiles    []string
	Workdir     string
	User        string
	Hostname    string
	Domainname  string
	Labels      []string
	LabelFiles  []string
	Volumes     []string
	Mounts      []string
	Tmpfs       []string
	Publish     []string
	PublishAll  bool
	Expose      []string
	Networks    []string
	Aliases     []string
	IP          string
	MAC         string
	DNS         []string
	DNSSearch   []string
	DNSOptions  []string
	AddHosts    []string
	Memory      string
	CPUs        string
	CPUShares   int64
	PidsLimit   int64
	ReadOnly    bool
	Privileged  bool
	CapAdd      []string
	CapDrop     []string
	SecurityOpt []string
	Ulimits     []string
	Sysctls     []string
	Init        bool
	Restart     string

	HealthCmd           string
	HealthInterval      time.Duration
	HealthTimeout       time.Duration
	HealthRetries       int
	HealthStartPeriod   time.Duration
	HealthStartInterval time.Duration
	NoHealthcheck       bool

	StopSignal  string
	StopTimeout int
	StopTimeSet bool // --stop-timeout was given

	Interactive bool
	Tty         bool
	Rm          bool
}

// Config builds the ContainerConfig for image and args. lookup resolves
// bare -e KEY entries (os.LookupEnv when nil).
func (f *RunFlags) Config(image string, args []string, lookup func(string) (string, bool)) (ContainerConfig, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := ContainerConfig{
		Image: image, Name: f.Name, WorkingDir: f.Workdir, User: f.User,
		Hostname: f.Hostname, Domainname: f.Domainname,
		Ports: f.Publish, PublishAll: f.PublishAll, Expose: f.Expose,
		DNS: f.DNS, DNSSearch: f.DNSSearch, DNSOptions: f.DNSOptions,
		ReadOnly: f.ReadOnly, Privileged: f.Privileged, CapAdd: f.CapAdd, CapDrop: f.CapDrop,
		Init: f.Init, StopSignal: f.StopSignal, OpenStdin: f.Interactive, Tty: f.Tty, AutoRemove: f.Rm,
		PID: f.PID, IPC: f.IPC,
	}
	if image == "" {
		return c, invalid("an image is required: berth container run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if len(args) > 0 {
		c.Cmd = args
	}
	if f.EntrySet {
		c.EntrypointSet = true
		if f.Entrypoint != "" {
			c.Entrypoint = []string{f.Entrypoint}
		}
	}
	if f.StopTimeSet {
		t := f.StopTimeout
		c.StopTimeout = &t
	}
	for flag, mode := range map[string]string{"--pid": f.PID, "--ipc": f.IPC} {
		if err := checkNamespaceMode(flag, mode); err != nil {
			return ContainerConfig{}, err
		}
	}
	steps := []func(*ContainerConfig) error{
		func(c *ContainerConfig) error { return f.env(c, lookup) },
		f.labels, f.mounts, f.network, f.resources, f.security, f.restart, f.health,
	}
	for _, step := range steps {
		if err := step(&c); err != nil {
			return ContainerConfig{}, err
		}
	}
	return c, nil
}

func (f *RunFlags) env(c *ContainerConfig, lookup func(string) (string, bool)) error {
	for _, p := range f.EnvFiles {
		env, err := ParseKeyValueFile(p, lookup)
		if err != nil {
			return err
		}
		c.Env = append(c.Env, env...)
	}
	c.Env = append(c.Env, ExpandEnv(f.Env, lookup)...)
	return nil
}

func (f *RunFlags) labels(c *ContainerConfig) error {
	var all []string
	for _, p := range f.LabelFiles {
		l, err := ParseKeyValueFile(p, func(string) (string, bool) { return "", true })
		if err != nil {
			return err
		}
		all = append(all, l...)
	}
	all = append(all, f.Labels...)
	m, err := ParseKeyValues("--label", all, false)
	c.Labels = m
	return err
}

func (f *RunFlags) mounts(c *ContainerConfig) error {
	seen := map[string]string{}
	add := func(m Mount, err error, spec string) error {
		if err != nil {
			return err
		}
		if prev, dup := seen[m.Target]; dup {
			return invalid("duplicate mount point %q (%s and %s)", m.Target, prev, spec)
		}
		seen[m.Target] = spec
		c.Mounts = append(c.Mounts, m)
		return nil
	}
	for _, v := range f.Volumes {
		m, err := ParseVolume(v)
		if err := add(m, err, "-v "+v); err != nil {
			return err
		}
	}
	for _, v := range f.Mounts {
		m, err := ParseMountFlag(v)
		if err := add(m, err, "--mount "+v); err != nil {
			return err
		}
	}
	for _, v := range f.Tmpfs {
		m, err := ParseTmpfs(v)
		if err := add(m, err, "--tmpfs "+v); err != nil {
			return err
		}
	}
	return nil
}

func (f *RunFlags) network(c *ContainerConfig) error {
	mode, nets, err := ParseNetwork(f.Networks)
	if err != nil {
		return err
	}
	c.NetworkMode = mode
	for i, n := range nets {
		a := NetworkAttachment{Name: n}
		if i == 0 { // like Docker: alias, ip and mac go with the first network
			a.Aliases, a.IP, a.MAC = f.Aliases, f.IP, f.MAC
		}
		c.Networks = append(c.Networks, a)
	}
	if mode != "" && mode != "bridge" {
		if len(f.Aliases) > 0 || f.IP != "" || len(f.Publish) > 0 || f.PublishAll {
			return invalid("--network %s: --network-alias, --ip and -p/-P need a bridge network", mode)
		}
		if strings.HasPrefix(mode, "container:") && (f.Hostname != "" || len(f.DNS) > 0 || len(f.AddHosts) > 0) {
			return invalid("--network %s: --hostname, --dns and --add-host conflict with a shared network namespace", mode)
		}
	}
	if len(f.Aliases) > 0 && (len(nets) == 0 || nets[0] == "bridge") {
		return invalid("--network-alias works only on user-defined networks: create one with berth network create and use --network")
	}
	if f.IP != "" && (len(nets) == 0 || nets[0] == "bridge") {
		return invalid("--ip works only on user-defined networks: create one with berth network create and use --network")
	}
	if f.IP != "" {
		if ip := net.ParseIP(f.IP); ip == nil || ip.To4() == nil {
			return invalid("invalid --ip %q: use an IPv4 address", f.IP)
		}
	}
	for _, h := range f.AddHosts {
		hp, err := ParseAddHost(h)
		if err != nil {
			return err
		}
		c.ExtraHosts = append(c.ExtraHosts, hp)
	}
	for _, d := range f.DNS {
		if !validIP(d) {
			return invalid("invalid --dns %q: use an IP address", d)
		}
	}
	return nil
}

func validIP(s string) bool { return net.ParseIP(s) != nil }

func (f *RunFlags) resources(c *ContainerConfig) error {
	var err error
	if c.Resources.Memory, err = ParseMemory("--memory", f.Memory); err != nil {
		return err
	}
	if c.Resources.NanoCPUs, err = ParseCPUs(f.CPUs); err != nil {
		return err
	}
	if f.CPUShares < 0 {
		return invalid("invalid --cpu-shares %d: use a positive weight (default 1024)", f.CPUShares)
	}
	c.Resources.CPUShares = f.CPUShares
	c.Resources.PidsLimit = f.PidsLimit
	for _, u := range f.Ulimits {
		ul, err := ParseUlimit(u)
		if err != nil {
			return err
		}
		c.Ulimits = append(c.Ulimits, ul)
	}
	c.Sysctls, err = ParseKeyValues("--sysctl", f.Sysctls, true)
	return err
}

func (f *RunFlags) security(c *ContainerConfig) error {
	for _, s := range f.SecurityOpt {
		if err := ParseSecurityOpt(c, s); err != nil {
			return err
		}
	}
	return nil
}

func (f *RunFlags) restart(c *ContainerConfig) error {
	p, err := ParseRestart(f.Restart)
	if err != nil {
		return err
	}
	if f.Rm && p.Name != "no" {
		return invalid("conflicting options: --restart and --rm (a removed container cannot restart)")
	}
	c.Restart = p
	return nil
}

func (f *RunFlags) health(c *ContainerConfig) error {
	given := f.HealthCmd != "" || f.HealthInterval != 0 || f.HealthTimeout != 0 ||
		f.HealthRetries != 0 || f.HealthStartPeriod != 0 || f.HealthStartInterval != 0
	if f.NoHealthcheck {
		if given {
			return invalid("--no-healthcheck conflicts with the --health-* options")
		}
		c.Health = &HealthConfig{Test: []string{"NONE"}}
		return nil
	}
	if !given {
		return nil
	}
	for name, d := range map[string]time.Duration{"--health-interval": f.HealthInterval,
		"--health-timeout": f.HealthTimeout, "--health-start-period": f.HealthStartPeriod,
		"--health-start-interval": f.HealthStartInterval} {
		if d < 0 || (d > 0 && d < time.Millisecond) {
			return invalid("invalid %s %s: use a duration of at least 1ms", name, d)
		}
	}
	if f.HealthRetries < 0 {
		return invalid("invalid --health-retries %d: use a number >= 0", f.HealthRetries)
	}
	h := &HealthConfig{Interval: f.HealthInterval, Timeout: f.HealthTimeout, StartPeriod: f.HealthStartPeriod,
		StartInterval: f.HealthStartInterval, Retries: f.HealthRetries}
	if f.HealthCmd != "" {
		h.Test = []string{"CMD-SHELL", f.HealthCmd}
	}
	c.Health = h
	return nil
}

// checkNamespaceMode validates a --pid or --ipc value.
func checkNamespaceMode(flag, mode string) error {
	if mode == "" || mode == "host" {
		return nil
	}
	if name, ok := strings.CutPrefix(mode, "container:"); ok && name != "" {
		return nil
	}
	return invalid("invalid %s %q: use host or container:NAME", flag, mode)
}
