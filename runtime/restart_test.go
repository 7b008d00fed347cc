package runtime

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// eventually polls f until it returns true or 20 s passed.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRestartOnFailureExactlyN(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sh", "-c", "echo run; exit 2")
	spec.Restart = RestartPolicy{Name: "on-failure", MaxRetries: 2}
	c := run(t, m, spec)
	// The monitor exits once the container stopped for good.
	eventually(t, "monitor exit", func() bool { return !m.monitorAlive(c.ID) })
	got, _ := m.Get(context.Background(), c.ID)
	out, _ := logs(t, m, c.ID)
	if got.State.RestartCount != 2 || strings.Count(out, "run\n") != 3 || got.State.ExitCode != 2 {
		t.Fatalf("restarts %d, runs %d, exit %d; want 2, 3, 2", got.State.RestartCount, strings.Count(out, "run\n"), got.State.ExitCode)
	}
}

func TestRestartAlwaysAfterKill(t *testing.T) {
	m, layers := newTestManager(t)
	spec := testSpec(layers, "sleep", "100")
	spec.Restart = RestartPolicy{Name: "always"}
	c := run(t, m, spec)
	first, _ := m.Get(context.Background(), c.ID)
	syscall.Kill(first.State.Pid, syscall.SIGKILL)
	eventually(t, "restart", func() bool {
		got, _ := m.Get(context.Background(), c.ID)
		return got.State.Status == StatusRunning && got.State.RestartCount == 1 && got.State.Pid != first.State.Pid
	})
	// A user stop does not restart it.
	d := time.Second
	if err := m.Stop(context.Background(), c.ID, &d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	got, _ := m.Get(context.Background(), c.ID)
	if got.State.Status != StatusExited || got.State.RestartCount != 1 {
		t.Fatalf("after stop: %+v", got.State)
	}
}

func TestMonitorKilled(t *testing.T) {
	m, layers := newTestManager(t)
	c := run(t, m, testSpec(layers, "sleep", "100"))
	got, _ := m.Get(context.Background(), c.ID)
	pid := got.State.Pid
	if got.State.MonitorPid == 0 {
		t.Fatal("no monitor pid")
	}
	syscall.Kill(got.State.MonitorPid, syscall.SIGKILL)
	eventually(t, "exited state", func() bool {
		got, _ = m.Get(context.Background(), c.ID)
		return got.State.Status == StatusExited
	})
	if got.State.Error != "monitor died" || got.State.ExitCode != 255 {
		t.Fatalf("state %+v", got.State)
	}
	if err := m.Remove(context.Background(), c.ID, RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, m, c.ID, pid)
}

func TestStartAgain(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	c := run(t, m, testSpec(layers, "sh", "-c", "echo run; exit 1"))
	waitExit(t, m, c.ID)
	eventually(t, "monitor exit", func() bool { return !m.monitorAlive(c.ID) })
	if err := m.Start(ctx, c.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitExit(t, m, c.ID)
	if out, _ := logs(t, m, c.ID); out != "run\nrun\n" {
		t.Fatalf("logs after two starts %q", out)
	}
	// Two concurrent starts of a long-running container: one monitor.
	c2, _ := m.Create(ctx, testSpec(layers, "sleep", "100"))
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- m.Start(ctx, c2.ID, StartOptions{}) }()
	}
	e1, e2 := <-errs, <-errs
	if e1 != nil || e2 != nil {
		t.Fatalf("concurrent starts: %v / %v", e1, e2)
	}
	pids, err := m.Top(ctx, c2.ID)
	if err != nil || len(pids) != 1 {
		t.Fatalf("top after concurrent starts: %v %v", pids, err)
	}
}
