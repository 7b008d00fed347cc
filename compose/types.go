package compose

import "time"

// Project is a loaded compose project in berth's own terms. Nothing from
// compose-go escapes this package: every field is a plain value.
type Project struct {
	Name        string
	WorkingDir  string
	ConfigFiles []string
	// Services are the enabled services, sorted by name.
	Services []Service
	// DisabledServices are services declared in the files but left out by
	// profiles; their containers are not orphans.
	DisabledServices []string
	// Profiles are every profile named by a service, enabled or not, sorted.
	Profiles []string
	Networks map[string]Network // key: the name used in the file
	Volumes  map[string]Volume
	Secrets  map[string]FileObject
	Configs  map[string]FileObject
	// Environment is the environment used for interpolation (.env, --env-file,
	// the process environment).
	Environment map[string]string
	// Warnings name every key berth does not implement, with its service.
	Warnings []string

	rendered renderedModel // canonical yaml/json of the loaded model for `config`
}

// Service returns the enabled service with that name.
func (p *Project) Service(name string) (*Service, bool) {
	for i := range p.Services {
		if p.Services[i].Name == name {
			return &p.Services[i], true
		}
	}
	return nil, false
}

// ServiceNames returns the names of the enabled services, sorted.
func (p *Project) ServiceNames() []string {
	names := make([]string, 0, len(p.Services))
	for _, s := range p.Services {
		names = append(names, s.Name)
	}
	return names
}

// Network is a top-level network of the project.
type Network struct {
	Name     string // the real name: <project>_<key>, the name: key, or the external name
	External bool
	Internal bool
	Driver   string
	Subnet   string
	Gateway  string
	Labels   map[string]string
	Options  map[string]string
}

// Volume is a top-level named volume of the project.
type Volume struct {
	Name     string // the real name: <project>_<key>, the name: key, or the external name
	External bool
	Driver   string
	Labels   map[string]string
	Options  map[string]string
}

// FileObject is a top-level secret or config. Exactly one of File,
// Environment and Content is set (or External).
type FileObject struct {
	Name        string
	File        string // absolute path on the host
	Environment string // name of the variable holding the content
	Content     string
	External    bool
}

// Service is one service of the project, with every key berth implements.
type Service struct {
	Name          string
	Image         string
	Build         *Build
	PullPolicy    string
	Command       []string // nil: the image's
	Entrypoint    []string // nil: the image's
	Environment   map[string]string
	WorkingDir    string
	User          string
	Hostname      string
	Domainname    string
	ContainerName string
	Labels        map[string]string
	Ports         []Port
	Expose        []string
	Mounts        []Mount
	Networks      []ServiceNetwork // sorted by priority then name
	NetworkMode   string           // "", host, none, service:NAME, container:NAME
	DNS           []string
	DNSSearch     []string
	DNSOptions    []string
	ExtraHosts    []string // "host:ip"
	Healthcheck   *Healthcheck
	Restart       string
	Scale         int
	Resources     Resources
	Init          *bool
	ReadOnly      bool
	Privileged    bool
	CapAdd        []string
	CapDrop       []string
	SecurityOpt   []string
	Ulimits       []Ulimit
	Sysctls       map[string]string
	StopSignal    string
	StopGrace     *time.Duration
	StdinOpen     bool
	Tty           bool
	Pid           string
	Ipc           string
	Secrets       []FileRef
	Configs       []FileRef
	DependsOn     []Dependency // sorted by service name
	Profiles      []string
	Links         []string // "service[:alias]"
}

// Build is a service's build section.
type Build struct {
	Context    string // absolute after Load
	Dockerfile string // relative to Context unless absolute; "" is Dockerfile
	Args       map[string]string
	Target     string
	Labels     map[string]string
	Network    string // RUN's network: "", "none" or "host"
}

// Port is one published port.
type Port struct {
	HostIP    string
	Published string // "8080", "8080-8081" or "" for an ephemeral port
	Target    uint32
	Protocol  string // tcp, udp
}

// Mount types.
const (
	MountVolume = "volume"
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
)

// Mount is one entry of a service's volumes or tmpfs.
type Mount struct {
	Type      string // MountVolume, MountBind, MountTmpfs
	Source    string // volume key (as in the file), absolute host path, or "" (anonymous volume, tmpfs)
	Target    string
	ReadOnly  bool
	NoCopy    bool
	Subpath   string
	TmpfsSize int64
	TmpfsMode uint32
	// CreateHostPath: a missing bind source is created (the short syntax's behaviour).
	CreateHostPath bool
}

// ServiceNetwork attaches a service to a project network.
type ServiceNetwork struct {
	Key         string // the network's key in the file
	Aliases     []string
	IPv4Address string
	IPv6Address string
	MacAddress  string
	Priority    int
}

// Healthcheck is a service's healthcheck.
type Healthcheck struct {
	Test          []string // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
	Disable       bool
}

// Resources are a service's limits (deploy.resources.limits or the legacy keys).
type Resources struct {
	Memory   int64 // bytes
	NanoCPUs int64
	Pids     int64
}

// Ulimit is one resource limit.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// FileRef is a service's use of a secret or config.
type FileRef struct {
	Source string // key of the top-level secret or config
	Target string // absolute path in the container
	UID    string
	GID    string
	Mode   *uint32
}

// Dependency conditions of depends_on.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dependency is one depends_on entry (also made for links and
// network_mode service:X).
type Dependency struct {
	Service   string
	Condition string
	Required  bool
	Restart   bool
}
