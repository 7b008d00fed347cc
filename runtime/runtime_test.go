package runtime

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// run creates and starts spec and returns the container.
func run(t *testing.T, m *Manager, spec Spec) *Container {
	t.Helper()
	ctx := context.Background()
	c, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, c.ID, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitExit waits for the container to stop and returns its exit code.
func waitExit(t *testing.T, m *Manager, id string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := m.Wait(ctx, id, "not-running")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func logs(t *testing.T, m *Manager, id string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := m.Logs(context.Background(), id, LogOptions{Tail: -1}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String()
}

func TestEchoLogsAndExitCode(t *testing.T) {
	m, layers := newTestManager(t)
	c := run(t, m, testSpec(layers, "sh", "-c", "echo hello; echo oops >&2; exit 3"))
	if code := waitExit(t, m, c.ID); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	out, errs := logs(t, m, c.ID)
	if out != "hello\n" || errs != "oops\n" {
		t.Fatalf("logs: stdout %q stderr %q", out, errs)
	}
	got, err := m.Get(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Status != StatusExited || got.State.FinishedAt.IsZero() {
		t.Fatalf("state %+v", got.State)
	}
}

func TestMissingCommand(t *testing.T) {
	m, layers := newTestManager(t)
	c, err := m.Create(context.Background(), testSpec(layers, "nonexistent-cmd"))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Start(context.Background(), c.ID, StartOptions{})
	if !errors.Is(err, ErrCommandNotFound) {
		t.Fatalf("start: %v, want ErrCommandNotFound", err)
	}
	c2, _ := m.Create(context.Background(), testSpec(layers, "/etc/passwd"))
	if err := m.Start(context.Background(), c2.ID, StartOptions{}); !errors.Is(err, ErrNotExecutable) {
		t.Fatalf("start: %v, want ErrNotExecutable", err)
	}
}

func TestStartReturnsWhileRunningAndStopKills(t *testing.T) {
	m, layers := newTestManager(t)
	c := run(t, m, testSpec(layers, "sh", "-c", `trap "" TERM; echo ready; sleep 100`))
	got, err := m.Get(context.Background(), c.ID[:12])
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Status != StatusRunning || got.State.Pid == 0 {
		t.Fatalf("state after start %+v", got.State)
	}
	d := 2 * time.Second
	start := time.Now()
	if err := m.Stop(context.Background(), c.ID, &d); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 8*time.Second {
		t.Fatalf("stop took %v", el)
	}
	got, _ = m.Get(context.Background(), c.ID)
	if got.State.ExitCode != 137 {
		out, errs := logs(t, m, c.ID)
		t.Fatalf("exit code %d, want 137 (state %+v, output %q %q)", got.State.ExitCode, got.State, out, errs)
	}
	if err := m.Remove(context.Background(), c.ID, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(context.Background(), c.ID); err == nil || !strings.Contains(err.Error(), "no such container") {
		t.Fatalf("get after remove: %v", err)
	}
}
