package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Sentinel errors a start or exec may wrap, so the CLI exits 126 or 127 as
// Docker does.
var (
	// ErrCommandNotFound: the container's command does not exist (exit 127).
	ErrCommandNotFound = errors.New("command not found")
	// ErrNotExecutable: the container's command exists but cannot be run (exit 126).
	ErrNotExecutable = errors.New("command not executable")
	// ErrDetached: an attach session ended because the user typed the detach keys.
	ErrDetached = errors.New("detached")
)

// Container statuses as Docker names them.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusRestarting = "restarting"
	StatusPaused     = "paused"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// Health statuses.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Options configures a Manager. Root, RunRoot and LibcontainerRoot are the
// layout's Containers(), RunContainers() and Libcontainer() directories.
type Options struct {
	Root             string
	RunRoot          string
	LibcontainerRoot string
	// MonitorCommand returns the argv that runs RunMonitor for id in a new
	// process (for berth: "berth --root R __monitor <id>"). See MonitorCommandFor.
	MonitorCommand func(id string) []string
}

// Spec is everything needed to run one container. It is stored as
// <Root>/<id>/config.json and never changes after Create (except Name).
type Spec struct {
	ID, Name, Image, ImageID string
	Rootfs                   RootfsSpec
	Process                  ProcessSpec
	Hostname, Domainname     string
	Mounts                   []Mount
	// NetNSPath is a network namespace to join (made by the engine). Empty
	// with HostNetwork false: libcontainer makes a new netns with only lo.
	NetNSPath   string
	HostNetwork bool
	// PIDMode and IPCMode choose the container's pid and IPC namespaces:
	// "" a new one, "host" the host's, "container:<id>" another running
	// container's (resolved at each start, as Docker does).
	PIDMode, IPCMode string
	Resources        Resources
	Security         Security
	Ulimits          []Ulimit
	Sysctls          map[string]string
	Labels           map[string]string
	StopSignal       string
	StopTimeout      *int // seconds
	Restart          RestartPolicy
	Health           *Health
	// OnExit is an argv the monitor runs once the container stopped for good.
	OnExit []string
	// Extra is opaque to runtime; the engine keeps its own data here.
	Extra map[string]json.RawMessage
}

// RootfsSpec is the container's root filesystem: an overlay of Layers (top
// first, as overlay's lowerdir wants them) with a per-container upper dir.
type RootfsSpec struct {
	Layers   []string
	ReadOnly bool
}

// ProcessSpec is the container's main process.
type ProcessSpec struct {
	Args []string
	Env  []string
	Cwd  string
	// User is "name|uid[:group|gid]", resolved in the rootfs.
	User string
	// GroupAdd are additional groups (names or gids).
	GroupAdd  []string
	Terminal  bool
	OpenStdin bool
	// Init runs the process under berth's own init (/sbin/berth-init).
	Init bool
}

// Mount is a bind or tmpfs mount into the container.
type Mount struct {
	Type        string // "bind" or "tmpfs"
	Source      string
	Destination string
	ReadOnly    bool
	Options     []string
	CopyUp      bool // handled by the engine (volume first use); ignored here
}

// Resources are cgroup limits. Zero means unlimited.
type Resources struct {
	Memory    int64 // bytes
	NanoCPUs  int64 // 1e9 = one CPU
	CPUShares int64
	PidsLimit int64
}

// Security are the container's privileges.
type Security struct {
	Privileged      bool
	NoNewPrivileges bool
	CapAdd, CapDrop []string
	// Seccomp is "" (Docker's default profile), "unconfined", or a profile path.
	Seccomp string
}

// Ulimit is one rlimit, as docker's --ulimit name=soft:hard.
type Ulimit struct {
	Name string // "nofile", "nproc", ...
	Soft int64
	Hard int64
}

// RestartPolicy is Docker's restart policy.
type RestartPolicy struct {
	Name       string // "", "no", "on-failure", "always", "unless-stopped"
	MaxRetries int
}

// Health is a healthcheck. Test is ["CMD", args...], ["CMD-SHELL", cmd] or ["NONE"].
type Health struct {
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// State is a container's runtime state, stored as <Root>/<id>/state.json.
type State struct {
	Status       string
	Pid          int
	MonitorPid   int
	ExitCode     int
	OOMKilled    bool
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int
	Health       *HealthState `json:",omitempty"`
	Error        string
	// StoppedByUser is set by Stop/Kill so the restart policy does not apply.
	// (A dead monitor is noticed through its flock on monitor.lock, not by
	// pid, so a recycled pid cannot pass for it.)
	StoppedByUser bool `json:",omitempty"`
}

// Running reports whether the container's process is (or is about to be) up.
func (s State) Running() bool {
	return s.Status == StatusRunning || s.Status == StatusPaused || s.Status == StatusRestarting
}

// HealthState is the healthcheck's state, as Docker's inspect shows it.
type HealthState struct {
	Status        string
	FailingStreak int
	Log           []HealthResult
}

// HealthResult is one healthcheck probe.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// Container is one container: its spec and its current state.
type Container struct {
	ID      string
	Name    string
	Created time.Time
	Spec    Spec
	State   State
	// Warnings are Create's notes for the user (capabilities or ulimits the
	// host cannot grant); not stored.
	Warnings []string `json:"-"`
}

// StartOptions tune Start.
type StartOptions struct {
	// Attach, when set, connects to the container's stdio before its process
	// starts (so no output is lost) and makes Start return only when that
	// attach session ends: the container stopped (nil) or the user detached
	// (ErrDetached). Errors starting the process are returned as without it.
	Attach *AttachOptions
	// CallerRemoves says that the caller removes the container as soon as
	// the attached Start returns (run --rm): its monitor skips the exit
	// hook, whose work that removal does anyway.
	CallerRemoves bool
	// BeforeAttach, with Attach, runs once the monitor was started and
	// before the attach session begins, which the monitor waits for before
	// it starts the process: work the process needs but the monitor does
	// not (attaching networks) overlaps the monitor's own start. An error
	// kills the monitor, which has started nothing yet, and is returned.
	BeforeAttach func() error
}

// RemoveOptions tune Remove.
type RemoveOptions struct {
	Force bool // kill a running container first
}

// ExecSpec is a process to run in a running container.
type ExecSpec struct {
	Args   []string
	Env    []string
	Cwd    string
	User   string
	Tty    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Detach starts the process and returns at once with exit code 0.
	Detach bool
	// Resize, with Tty, delivers window size changes.
	Resize <-chan WindowSize
}

// AttachOptions are an attach client's streams. With a terminal, Stderr is
// unused. Stdin is forwarded only when the container has OpenStdin.
type AttachOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// DetachKeys is Docker's syntax ("ctrl-p,ctrl-q", the default when empty).
	DetachKeys string
	// Logs replays the log before streaming.
	Logs bool
	// Resize, when not nil, delivers window size changes (columns, rows).
	Resize <-chan WindowSize
}

// WindowSize is a terminal size.
type WindowSize struct{ Width, Height uint16 }

// LogOptions select log lines.
type LogOptions struct {
	Follow     bool
	Timestamps bool
	Tail       int // -1 = all
	Since      time.Time
	Until      time.Time
}

// Stats are a container's resource usage.
type Stats struct {
	Read        time.Time
	CPUNanos    uint64 // total CPU time used
	MemoryUsage uint64
	MemoryLimit uint64
	Pids        uint64
}

// MonitorHooks let the caller of RunMonitor act at points of a container's life.
type MonitorHooks struct {
	// BeforeStart runs before each start of the process; the returned Closer
	// (may be nil) is closed once the container stopped for good. An error
	// fails that start, and its text is reported to Start's caller.
	BeforeStart func(ctx context.Context, c *Container) (io.Closer, error)
	// OnExit, when set, runs once the container stopped for good (after the
	// monitor lock was released), in place of the Spec.OnExit argv when it
	// returns true; false leaves Spec.OnExit to run as usual. It lets a
	// monitor that can do the hook's work in-process skip a process start.
	OnExit func(ctx context.Context, c *Container) bool
}

// ExitError is a container process's exit, returned by foreground paths.
type ExitError struct {
	Code   int
	Signal string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return fmt.Sprintf("container exited with code %d (%s)", e.Code, e.Signal)
	}
	return fmt.Sprintf("container exited with code %d", e.Code)
}
