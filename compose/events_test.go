package compose

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDiffEvents(t *testing.T) {
	c := func(id, state string) ObservedContainer {
		return ObservedContainer{ID: id, Name: "p-" + id + "-1", Service: id, Number: 1, State: state}
	}
	prev := map[string]ObservedContainer{"a": c("a", "running"), "b": c("b", "running"), "d": c("d", "paused"), "gone": c("gone", "exited")}
	cur := map[string]ObservedContainer{"a": c("a", "running"), "b": c("b", "exited"), "d": c("d", "running"), "n": c("n", "running")}
	var got []string
	diffEvents(prev, cur, time.Unix(0, 0), func(e ContainerEvent) { got = append(got, e.Action+" "+e.Name) })
	want := "die p-b-1,unpause p-d-1,create p-n-1,start p-n-1,destroy p-gone-1"
	if strings.Join(got, ",") != want {
		t.Errorf("events %q, want %q", strings.Join(got, ","), want)
	}
}

// listed closes its channel after the first List returns.
type listed struct {
	*fakeEngine
	once sync.Once
	done chan struct{}
}

func (l *listed) List(ctx context.Context, project string) ([]ObservedContainer, error) {
	out, err := l.fakeEngine.List(ctx, project)
	l.once.Do(func() { close(l.done) })
	return out, err
}

func TestWatchEvents(t *testing.T) {
	f := newFakeEngine()
	addRunning(t, f, "p", "old") // exists before: not reported
	ctx := testCtx(t)
	events := make(chan ContainerEvent, 16)
	l := &listed{fakeEngine: f, done: make(chan struct{})}
	go WatchEvents(ctx, l, "p", nil, time.Millisecond, func(e ContainerEvent) { events <- e })
	<-l.done
	id := addRunning(t, f, "p", "web")
	for _, want := range []string{"create", "start"} {
		select {
		case e := <-events:
			if e.Action != want || e.ID != id || e.Service != "web" {
				t.Errorf("event %+v, want %s of web", e, want)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", want)
		}
	}
}
