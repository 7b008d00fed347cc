package engine

import "time"

// Details is a container as `docker inspect` shows it. Field names and
// nesting follow Docker's so that `inspect -f '{{.State.OOMKilled}}'` and
// tools written for Docker work.
type Details struct {
	ID              string `json:"Id"`
	Created         string
	Path            string
	Args            []string
	State           StateDetails
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	HostConfig      HostConfigDetails
	SizeRw          *int64 `json:",omitempty"` // writable layer bytes, when asked (ps -s, inspect -s)
	SizeRootFs      *int64 `json:",omitempty"` // SizeRw plus the image's bytes, when asked
	Mounts          []MountDetails
	Config          ConfigDetails
	NetworkSettings NetworkSettings
}

// StateDetails is inspect's State.
type StateDetails struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	Health     *HealthDetails `json:",omitempty"`
}

// HealthDetails is inspect's State.Health.
type HealthDetails struct {
	Status        string
	FailingStreak int
	Log           []HealthLogEntry
}

// HealthLogEntry is one healthcheck probe.
type HealthLogEntry struct {
	Start    string
	End      string
	ExitCode int
	Output   string
}

// HostConfigDetails is inspect's HostConfig.
type HostConfigDetails struct {
	Binds           []string
	NetworkMode     string
	PortBindings    map[string][]PortBinding
	RestartPolicy   RestartPolicyDetails
	AutoRemove      bool
	CapAdd          []string
	CapDrop         []string
	DNS             []string `json:"Dns"`
	DNSOptions      []string `json:"DnsOptions"`
	DNSSearch       []string `json:"DnsSearch"`
	ExtraHosts      []string
	Privileged      bool
	PublishAllPorts bool
	ReadonlyRootfs  bool
	SecurityOpt     []string
	Tmpfs           map[string]string
	Sysctls         map[string]string
	Memory          int64
	NanoCpus        int64 //nolint:revive // Docker's spelling
	CPUShares       int64 `json:"CpuShares"`
	PidsLimit       *int64
	Ulimits         []UlimitDetails
	Init            *bool
}

// RestartPolicyDetails is HostConfig.RestartPolicy.
type RestartPolicyDetails struct {
	Name              string
	MaximumRetryCount int
}

// UlimitDetails is one HostConfig.Ulimits entry.
type UlimitDetails struct {
	Name string
	Hard int64
	Soft int64
}

// PortBinding is a host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// MountDetails is one inspect Mounts entry.
type MountDetails struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// ConfigDetails is inspect's Config.
type ConfigDetails struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Healthcheck  *HealthcheckDetails `json:",omitempty"`
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	Labels       map[string]string
	StopSignal   string `json:",omitempty"`
	StopTimeout  *int   `json:",omitempty"`
}

// HealthcheckDetails is Config.Healthcheck (durations in nanoseconds, as Docker's).
type HealthcheckDetails struct {
	Test          []string
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

// NetworkSettings is inspect's NetworkSettings.
type NetworkSettings struct {
	SandboxKey string
	Ports      map[string][]PortBinding
	IPAddress  string
	Gateway    string
	MacAddress string
	Networks   map[string]*EndpointDetails
}

// EndpointDetails is one NetworkSettings.Networks entry.
type EndpointDetails struct {
	Aliases     []string
	NetworkID   string
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
	DNSNames    []string
}
