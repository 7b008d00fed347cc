package compose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// fakeLogs writes each container's lines, then with Follow waits until the
// fake engine says it stopped.
type fakeLogs struct {
	f     *fakeEngine
	lines map[string][]string // by container name
}

func (l fakeLogs) Logs(ctx context.Context, id string, o LogReadOptions, stdout, _ io.Writer) error {
	l.f.mu.Lock()
	c, ok := l.f.containers[id]
	l.f.mu.Unlock()
	if !ok {
		return fmt.Errorf("no container %s", id)
	}
	for _, line := range l.lines[c.name] {
		fmt.Fprintf(stdout, "%s\n", line)
	}
	for o.Follow {
		l.f.mu.Lock()
		st := c.state.Status
		l.f.mu.Unlock()
		if st != "running" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// waitFor waits until text appears in s.
func waitFor(t *testing.T, s *testutil.SyncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared in:\n%s", text, s.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func addRunning(t *testing.T, f *fakeEngine, project, service string) string {
	t.Helper()
	id, err := f.Create(context.Background(), ContainerSpec{Name: project + "-" + service + "-1", Project: project, Service: service, Number: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestStreamLogsOnce(t *testing.T) {
	f := newFakeEngine()
	addRunning(t, f, "p", "web")
	addRunning(t, f, "p", "db")
	var out testutil.SyncBuffer
	mux := NewLogMux(&out, LogOptions{NoColor: true})
	src := fakeLogs{f: f, lines: map[string][]string{"p-web-1": {"w1", "w2"}, "p-db-1": {"d1"}}}
	if err := StreamLogs(testCtx(t), f, src, "p", mux, StreamOptions{Services: []string{"web"}}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "web-1  | w1\nweb-1  | w2\n" {
		t.Errorf("got %q", got)
	}
}

func TestStreamLogsFollowsLaterContainersAndEnds(t *testing.T) {
	f := newFakeEngine()
	webID := addRunning(t, f, "p", "web")
	var out testutil.SyncBuffer
	mux := NewLogMux(&out, LogOptions{NoColor: true})
	src := fakeLogs{f: f, lines: map[string][]string{"p-web-1": {"web says hi"}, "p-late-1": {"late says hi"}}}
	done := make(chan error, 1)
	go func() {
		done <- StreamLogs(testCtx(t), f, src, "p", mux, StreamOptions{Read: LogReadOptions{Follow: true, Tail: -1}, Poll: time.Millisecond})
	}()
	waitFor(t, &out, "web-1  | web says hi")
	lateID := addRunning(t, f, "p", "late")
	waitFor(t, &out, "late-1  | late says hi")
	select {
	case err := <-done:
		t.Fatalf("returned while containers run: %v", err)
	default:
	}
	f.Stop(context.Background(), webID, nil)
	f.Stop(context.Background(), lateID, nil)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not end after every container stopped")
	}
}

func TestWaitExit(t *testing.T) {
	f := newFakeEngine()
	old := addRunning(t, f, "p", "job")
	f.Stop(context.Background(), old, nil) // stopped before: ignored
	webID := addRunning(t, f, "p", "web")
	dbID, err := f.Create(context.Background(), ContainerSpec{Name: "p-db-1", Project: "p", Service: "db", Number: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.behaviours["p-db-1"] = behaviour{exitAfter: 1, exitCode: 7}
	f.Start(context.Background(), dbID)
	type res struct {
		c    ObservedContainer
		code int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		c, code, err := WaitExit(testCtx(t), f, "p", nil, "web", time.Millisecond)
		done <- res{c, code, err}
	}()
	// db exits (it is inspected by the fake's Inspect below), but only web counts
	f.Inspect(context.Background(), dbID)
	time.Sleep(20 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("returned before web stopped: %+v", r)
	default:
	}
	f.mu.Lock()
	f.containers[webID].state = ContainerState{Status: "exited", ExitCode: 3}
	f.mu.Unlock()
	r := <-done
	if r.err != nil || r.c.Name != "p-web-1" || r.code != 3 {
		t.Errorf("got %+v", r)
	}
}
