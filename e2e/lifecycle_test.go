package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 2, test 2: a detached server's whole life.
func TestDetachedLifecycle(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.must("container", "run", "-d", "--name", "web", "busybox", "httpd", "-f", "-vv", "-p", "8080"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a full id", id)
	}
	ps := e.must("container", "ps")
	if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, "web") {
		t.Fatalf("ps does not show web up:\n%s", ps)
	}
	top := e.must("container", "exec", "web", "ps", "-o", "pid,args")
	if !strings.Contains(top, "    1 httpd -f -vv -p 8080") && !regexpMatch(`(?m)^\s*1\s+httpd -f`, top) {
		t.Errorf("httpd is not PID 1:\n%s", top)
	}
	// httpd -vv logs each request to stderr: make one from inside.
	e.must("container", "exec", "web", "sh", "-c", "timeout 5 wget -qO- http://127.0.0.1:8080/ >/dev/null 2>&1; true")
	e.waitFor("a log line", 10*time.Second, func() bool {
		r := e.run("container", "logs", "web")
		return r.Code == 0 && strings.Contains(r.Stdout+r.Stderr, "127.0.0.1")
	})
	start := time.Now()
	e.must("container", "stop", "-t", "2", "web")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop -t 2 took %s", took)
	} else if took < 2*time.Second {
		t.Errorf("stop -t 2 took %s: httpd ignores SIGTERM, so the kill should come after 2 s", took)
	}
	psa := e.must("container", "ps", "-a", "--filter", "name=web", "--format", "{{.Status}}")
	if !strings.HasPrefix(psa, "Exited (137)") {
		t.Errorf("ps -a status %q, want Exited (137)", psa)
	}
	e.must("container", "rm", "web")
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("rm left %q", out)
	}
	if leaks := e.leaks(); len(leaks) > 0 {
		t.Errorf("after rm: %v", leaks)
	}
	if _, err := os.Stat(filepath.Join(e.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("state dir of %s still there", id)
	}
}

// Issue 2, test 3: restart policies and a killed monitor.
func TestRestartOnFailure(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
	e.waitFor("flaky to stop for good", 30*time.Second, func() bool {
		return e.inspect("flaky", "{{.State.Status}}") == "exited"
	})
	time.Sleep(time.Second) // a third restart would show up here
	if got := e.inspect("flaky", "{{.RestartCount}} {{.State.ExitCode}}"); got != "2 1" {
		t.Errorf("RestartCount and ExitCode = %q, want \"2 1\"", got)
	}
}

func TestRestartAlways(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "svc", "--restart", "always", "busybox", "sleep", "600")
	pid := e.inspect("svc", "{{.State.Pid}}")
	p, err := strconv.Atoi(pid)
	if err != nil || p <= 0 {
		t.Fatalf("pid %q", pid)
	}
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitFor("svc to run again with a new pid", 20*time.Second, func() bool {
		s := e.inspect("svc", "{{.State.Status}} {{.State.Pid}}")
		return strings.HasPrefix(s, "running ") && s != "running "+pid && s != "running 0"
	})
	if got := e.inspect("svc", "{{.RestartCount}}"); got != "1" {
		t.Errorf("RestartCount %q, want 1", got)
	}
}

func TestMonitorKilled(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.must("container", "run", "-d", "--name", "orphan", "busybox", "sleep", "600"))
	mon := monitorPid(t, e.root, id)
	if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r := e.runCtx(ctx, nil, "container", "ps", "-a"); r.Code != 0 || !strings.Contains(r.Stdout, "orphan") {
		t.Fatalf("ps after monitor kill: %s", r)
	}
	if r := e.runCtx(ctx, nil, "container", "rm", "-f", "orphan"); r.Code != 0 {
		t.Fatalf("rm -f after monitor kill: %s", r)
	}
}

// monitorPid finds the monitor process of container id.
func monitorPid(t *testing.T, root, id string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), root+"\x00__monitor\x00"+id) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	t.Fatalf("no monitor process for %s", id)
	return 0
}

// Issue 2, test 9: logs -f follows until the container exits.
func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "talker", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 1; done")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := e.runCtx(ctx, nil, "container", "logs", "-f", "talker")
	if ctx.Err() != nil {
		t.Fatal("logs -f did not return after the container exited")
	}
	if r.Code != 0 || r.Stdout != "line1\nline2\nline3\n" {
		t.Errorf("logs -f: %s", r)
	}
	if r := e.run("container", "logs", "--tail", "1", "talker"); r.Stdout != "line3\n" {
		t.Errorf("logs --tail 1: %s", r)
	}
	r = e.run("container", "logs", "-t", "talker")
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 3 || !regexpMatch(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line1$`, lines[0]) {
		t.Errorf("logs -t: %s", r)
	}
	if r := e.run("container", "logs", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z", "talker"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("logs --since/--until a day in 2000: %s", r)
	}
}

// TestMonitorHandover: once a container runs, its monitor execs the small
// berth-monitor-idle in the same process, and execs back into berth-monitor
// when the container exits. Stdin through attach, the log, the restart
// policy and a second hand-over after the restart all carry on, in one pid.
func TestMonitorHandover(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.must("container", "run", "-d", "-i", "--name", "h", "--restart", "on-failure:1",
		"busybox", "sh", "-c", "echo start; read x; echo got $x; exit 3"))
	mon := monitorPid(t, e.root, id)
	idle := func() bool {
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(mon) + "/exe")
		return filepath.Base(exe) == "berth-monitor-idle"
	}
	e.waitFor("the monitor to exec berth-monitor-idle", 20*time.Second, idle)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.runCtx(ctx, []byte("hello\n"), "container", "attach", "h")
	e.waitFor("the restart", 20*time.Second, func() bool { return e.inspect("h", "{{.RestartCount}}") == "1" })
	e.waitFor("the restarted container's monitor to exec berth-monitor-idle again", 20*time.Second, idle)
	if got := monitorPid(t, e.root, id); got != mon {
		t.Errorf("monitor pid %d after the restart, want %d (the same process)", got, mon)
	}
	e.must("container", "stop", "-t", "1", "h")
	if logs := e.must("container", "logs", "h"); logs != "start\ngot hello\nstart\n" {
		t.Errorf("logs = %q, want %q", logs, "start\ngot hello\nstart\n")
	}
	if got := e.inspect("h", "{{.State.Status}} {{.RestartCount}}"); got != "exited 1" {
		t.Errorf("state = %q, want \"exited 1\"", got)
	}
}
