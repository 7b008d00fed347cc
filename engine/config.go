package engine

import "time"

// ContainerConfig is the flag-level description of one container, as
// `docker run` takes it. It is a plain struct: `berth container` fills it
// from flags (see RunFlags) and compose fills it from a service.
type ContainerConfig struct {
	Image string // reference: name[:tag], id or id prefix
	Name  string // "" => a generated name

	// Cmd replaces the image's CMD when non-nil.
	Cmd []string
	// Entrypoint replaces the image's ENTRYPOINT when EntrypointSet (an
	// empty Entrypoint then clears it). Like Docker, setting the entrypoint
	// also drops the image's CMD.
	Entrypoint    []string
	EntrypointSet bool

	Env        []string // KEY=VALUE, appended to (and overriding) the image's ENV
	WorkingDir string
	User       string
	Hostname   string
	Domainname string
	Labels     map[string]string

	Mounts []Mount

	// Ports are -p specs ([ip:][hostPort:]containerPort[/proto], ranges).
	Ports []string
	// PublishAll (-P) publishes every exposed port on a random host port.
	PublishAll bool
	// Expose adds exposed ports ("80", "80/tcp") to the image's.
	Expose []string

	// NetworkMode is "" (the default bridge network unless Networks is
	// set), "bridge", "none", "host" or "container:NAME".
	NetworkMode string
	// PID and IPC share namespaces: "" (the container's own), "host", or
	// "container:NAME" (another container's; it must run when this starts).
	PID, IPC string
	// Networks are the user networks to join, in order.
	Networks   []NetworkAttachment
	DNS        []string
	DNSSearch  []string
	DNSOptions []string
	ExtraHosts []string // "host:ip"

	Resources Resources

	ReadOnly        bool
	Privileged      bool
	CapAdd, CapDrop []string
	NoNewPrivileges bool
	Seccomp         string   // "" default profile, "unconfined", or a profile path
	SecurityOpt     []string // as given, for inspect
	Ulimits         []Ulimit
	Sysctls         map[string]string
	Init            bool

	Restart RestartPolicy

	// Health overrides the image's healthcheck when non-nil; Test ["NONE"]
	// disables it.
	Health *HealthConfig

	StopSignal  string
	StopTimeout *int // seconds

	OpenStdin  bool // -i
	Tty        bool // -t
	AutoRemove bool // --rm
}

// Mount is one volume, bind or tmpfs mount.
type Mount struct {
	Type     string // "volume", "bind" or "tmpfs"
	Source   string // volume name ("" => anonymous), host path, or ""
	Target   string // absolute path in the container
	ReadOnly bool
	// NoCopy skips copying the image's content into an empty volume.
	NoCopy bool
	// Options are extra mount options: bind propagation ("rprivate"...),
	// tmpfs options ("size=65536k", "mode=1777", "noexec"...).
	Options []string
}

// NetworkAttachment is one network a container joins.
type NetworkAttachment struct {
	Name    string
	Aliases []string
	IP      string // fixed IPv4 address, "" => allocated
	MAC     string
}

// Resources are the cgroup limits; zero means unlimited.
type Resources struct {
	Memory    int64 // bytes
	NanoCPUs  int64 // 1e9 = one CPU
	CPUShares int64
	PidsLimit int64 // <= 0 unlimited
}

// Ulimit is one rlimit.
type Ulimit struct {
	Name string // "nofile", "nproc"... (without RLIMIT_)
	Soft int64
	Hard int64
}

// RestartPolicy is Docker's --restart.
type RestartPolicy struct {
	Name       string // "no", "on-failure", "always", "unless-stopped"
	MaxRetries int    // on-failure only; 0 = unlimited
}

// HealthConfig is a healthcheck, as in an image config.
type HealthConfig struct {
	Test          []string // ["CMD", args...], ["CMD-SHELL", cmd] or ["NONE"]
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}
