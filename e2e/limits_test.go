package e2e

import (
	"strings"
	"testing"
	"time"
)

// Issue 2, test 4: healthchecks.
func TestHealthcheck(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "good", "--health-cmd", "test -f /tmp/ready",
		"--health-interval", "300ms", "--health-retries", "2", "busybox", "sh", "-c", "sleep 2; touch /tmp/ready; sleep 600")
	e.must("container", "run", "-d", "--name", "bad", "--health-cmd", "exit 1",
		"--health-interval", "300ms", "--health-retries", "2", "busybox", "sleep", "600")
	if s := e.inspect("good", "{{.State.Health.Status}}"); s != "starting" {
		t.Errorf("good starts as %q, want starting", s)
	}
	e.waitFor("good to be healthy", 20*time.Second, func() bool { return e.inspect("good", "{{.State.Health.Status}}") == "healthy" })
	e.waitFor("bad to be unhealthy", 20*time.Second, func() bool { return e.inspect("bad", "{{.State.Health.Status}}") == "unhealthy" })
	if ps := e.must("container", "ps", "--filter", "name=good", "--format", "{{.Status}}"); !strings.Contains(ps, "(healthy)") {
		t.Errorf("ps status %q lacks (healthy)", ps)
	}
	if ps := e.must("container", "ps", "--filter", "name=bad", "--format", "{{.Status}}"); !strings.Contains(ps, "(unhealthy)") {
		t.Errorf("ps status %q lacks (unhealthy)", ps)
	}
}

// Issue 2, test 5: memory, pids and cpu limits.
func TestOOMKill(t *testing.T) {
	e := newEnv(t)
	r := e.run("container", "run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c", "tail /dev/zero")
	if r.Code != 137 {
		t.Errorf("OOM run exit: %s", r)
	}
	if got := e.inspect("hog", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}"); got != "true 137 33554432" {
		t.Errorf("inspect = %q, want \"true 137 33554432\"", got)
	}
}

func TestPidsLimit(t *testing.T) {
	e := newEnv(t)
	r := e.run("container", "run", "--rm", "--pids-limit", "10", "busybox", "sh", "-c",
		"cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; for i in $(seq 1 30); do sleep 5 & done; kill $(jobs -p) 2>/dev/null; true")
	if got := strings.SplitN(r.Stdout, "\n", 2)[0]; got != "10" {
		t.Errorf("pids.max %q, want 10 (%s)", got, r)
	}
	if !strings.Contains(r.Stderr, "can't fork") && !strings.Contains(r.Stderr, "Resource temporarily unavailable") {
		t.Errorf("30 background processes all started under --pids-limit 10: %s", r)
	}
}

func TestCPUQuota(t *testing.T) {
	e := newEnv(t)
	out := e.must("container", "run", "--rm", "--cpus", "0.5", "busybox", "sh", "-c",
		"cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us)")
	if got := strings.TrimSpace(out); got != "50000 100000" {
		t.Errorf("cpu quota and period %q, want \"50000 100000\"", got)
	}
}

// Issue 2, test 6: default security.
func TestDefaultSecurity(t *testing.T) {
	e := newEnv(t)
	run := func(args ...string) result {
		return e.run(append([]string{"container", "run", "--rm"}, args...)...)
	}
	if r := run("busybox", "mount", "-t", "tmpfs", "none", "/mnt"); r.Code == 0 {
		t.Errorf("mount succeeded: %s", r)
	}
	// Only the shell itself (no pipeline: globbing is a builtin).
	if r := run("busybox", "sh", "-c", "set -- /proc/[0-9]*; echo $#"); strings.TrimSpace(r.Stdout) != "1" {
		t.Errorf("container sees %q processes", strings.TrimSpace(r.Stdout))
	}
	if r := run("busybox", "grep", "CapEff", "/proc/self/status"); !strings.Contains(r.Stdout, "00000000a80425fb") {
		t.Errorf("CapEff: %s", r)
	}
	for _, p := range []string{"/proc/keys", "/proc/timer_list"} {
		if r := run("busybox", "sh", "-c", "test -e "+p+" || exit 0; wc -c < "+p); strings.TrimSpace(r.Stdout) != "0" && strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("%s not masked: %s", p, r)
		}
	}
	if r := run("busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname"); r.Code == 0 {
		t.Errorf("/proc/sys writable: %s", r)
	}
	if r := run("--read-only", "busybox", "touch", "/x"); r.Code == 0 || !strings.Contains(r.Stderr+r.Stdout, "Read-only file system") {
		t.Errorf("--read-only allowed a write: %s", r)
	}
	if r := run("--read-only", "--tmpfs", "/tmp", "busybox", "touch", "/tmp/x"); r.Code != 0 {
		t.Errorf("--read-only with --tmpfs /tmp: %s", r)
	}
}

// --init, --ulimit, --sysctl, --cap-drop/--cap-add, no-new-privileges,
// seccomp=unconfined reach the container.
func TestSecurityFlags(t *testing.T) {
	e := newEnv(t)
	out := e.must("container", "run", "--rm", "--init", "busybox", "ps", "-o", "pid,args")
	if !regexpMatch(`(?m)^\s*1\s+/sbin/berth-init`, out) {
		t.Errorf("--init: PID 1 is not berth-init:\n%s", out)
	}
	if r := e.run("container", "run", "--rm", "--init", "busybox", "sh", "-c", "exit 4"); r.Code != 4 {
		t.Errorf("--init exit code: %s", r)
	}
	out = e.must("container", "run", "--rm", "--ulimit", "nofile=100:200", "--sysctl", "net.ipv4.ip_forward=1",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges", "busybox",
		"sh", "-c", "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; grep -E 'CapEff|NoNewPrivs' /proc/self/status")
	if want := "100\n1\nCapEff:\t0000000000000400\nNoNewPrivs:\t1\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if out := e.must("container", "run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status"); out != "Seccomp:\t0\n" {
		t.Errorf("seccomp=unconfined: %q", out)
	}
	if out := e.must("container", "run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status"); out != "Seccomp:\t2\n" {
		t.Errorf("default seccomp: %q", out)
	}
}
