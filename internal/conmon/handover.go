package conmon

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/berth/berth/internal/portproxy"
)

// HandoverEnv holds the JSON Handover while the monitor execs between its
// two binaries. The receiving side unsets it at once.
const HandoverEnv = "BERTH_MONITOR_HANDOVER"

// IdleBinary is the steady-state monitor binary's name, looked up next to
// the monitor's own executable.
const IdleBinary = "berth-monitor-idle"

// Handover is what one monitor binary passes to the other across exec, in
// both directions. Descriptors are inherited at the same numbers (their
// close-on-exec flag cleared); 0 means none.
type Handover struct {
	ID  string `json:"id"`
	Pid int    `json:"pid"` // the container's init, a child of the monitor
	// Big is the argv (argv[0] an absolute path) that execs back into the
	// full monitor, and Env its environment (without HandoverEnv).
	Big []string `json:"big"`
	Env []string `json:"env"`

	Lock    int              `json:"lock"` // the monitor lock (a held flock)
	Log     int              `json:"log"`
	Attach  int              `json:"attach,omitempty"`
	Clients []int            `json:"clients,omitempty"`
	Ports   []portproxy.File `json:"ports,omitempty"`
	// The process's stdio, big to idle only: output pipes or pty master,
	// and the stdin pipe.
	Stdout    int    `json:"stdout,omitempty"`
	Stderr    int    `json:"stderr,omitempty"`
	Console   int    `json:"console,omitempty"`
	Stdin     int    `json:"stdin,omitempty"`
	OpenStdin bool   `json:"openStdin,omitempty"`
	Winsize   [2]int `json:"winsize,omitempty"`

	Health *HealthPlan `json:"health,omitempty"`

	// Loop is the full monitor's restart-loop state, opaque to the idle one.
	Loop json.RawMessage `json:"loop,omitempty"`
	// Status is the init's wait status (idle to big: the container exited).
	Status *int `json:"status,omitempty"`
}

// HealthPlan is the healthcheck schedule the idle monitor keeps: each
// probe runs Probe (a short-lived full-monitor process that execs the test
// in the container and records the result).
type HealthPlan struct {
	Probe         []string      `json:"probe"`
	Interval      time.Duration `json:"interval"`
	StartInterval time.Duration `json:"startInterval"`
	StartPeriod   time.Duration `json:"startPeriod"`
	Timeout       time.Duration `json:"timeout"`
	Started       time.Time     `json:"started"`
	Next          time.Time     `json:"next"` // when the next probe is due
}

// Wait is how long to wait before the probe after one that ended at now.
func (h *HealthPlan) Wait(now time.Time) time.Duration {
	if now.Sub(h.Started) < h.StartPeriod {
		return min(h.StartInterval, h.Interval)
	}
	return h.Interval
}

// TakeHandover returns the Handover this process was exec'd with, or nil,
// and removes it from the environment.
func TakeHandover() (*Handover, error) {
	v, ok := os.LookupEnv(HandoverEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(HandoverEnv)
	var h Handover
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return nil, fmt.Errorf("monitor handover: %w", err)
	}
	return &h, nil
}

// Exec replaces this process with argv, handing h over. Only descriptors
// whose close-on-exec flag was cleared survive. It returns only on failure.
func Exec(argv, env []string, h *Handover) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	env = append(env[:len(env):len(env)], HandoverEnv+"="+string(b))
	return syscall.Exec(argv[0], argv, env)
}

// Inheritable clears close-on-exec on f and returns its descriptor, without
// changing its blocking mode.
func Inheritable(f syscall.Conn) (int, error) { return portproxy.Inheritable(f) }

// File wraps an inherited descriptor, close-on-exec again, non-blocking so
// that reads can be cancelled with deadlines.
func File(fd int, name string) *os.File {
	syscall.CloseOnExec(fd)
	syscall.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name)
}

// StopReading makes blocked reads of f return (f must be pollable).
func StopReading(f *os.File) { f.SetReadDeadline(time.Now().Add(-time.Second)) }
