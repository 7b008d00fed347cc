package compose

import (
	"context"
	"fmt"
	"time"
)

// ContainerEvent is a change of one project container, as `events` shows it.
type ContainerEvent struct {
	Time    time.Time
	Action  string // create, start, die, pause, unpause, destroy
	ID      string
	Name    string
	Service string
}

// WatchEvents reports the changes of the project's containers (of services,
// all when empty) until ctx ends, by comparing what List returns every poll
// (default 500ms). Containers that exist when it starts are not reported.
func WatchEvents(ctx context.Context, cs Containers, project string, services []string, poll time.Duration, emit func(ContainerEvent)) error {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	want := set(services)
	var prev map[string]ObservedContainer
	for {
		list, err := cs.List(ctx, project)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("project %q: list containers: %w", project, err)
		}
		cur := map[string]ObservedContainer{}
		for _, c := range sortedContainers(list) {
			if len(want) == 0 || want[c.Service] {
				cur[c.ID] = c
			}
		}
		if prev != nil {
			diffEvents(prev, cur, time.Now(), emit)
		}
		prev = cur
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// diffEvents emits the events that turn prev into cur.
func diffEvents(prev, cur map[string]ObservedContainer, now time.Time, emit func(ContainerEvent)) {
	ev := func(c ObservedContainer, action string) {
		emit(ContainerEvent{Time: now, Action: action, ID: c.ID, Name: c.Name, Service: c.Service})
	}
	for _, c := range sortedContainers(mapValues(cur)) {
		old, seen := prev[c.ID]
		if !seen {
			ev(c, "create")
			if isRunning(c.State) {
				ev(c, "start")
			}
			continue
		}
		switch {
		case old.State == c.State:
		case c.State == "paused":
			ev(c, "pause")
		case old.State == "paused" && c.State == "running":
			ev(c, "unpause")
		case !isRunning(old.State) && isRunning(c.State):
			ev(c, "start")
		case isRunning(old.State) && !isRunning(c.State):
			ev(c, "die")
		}
	}
	for _, c := range sortedContainers(mapValues(prev)) {
		if _, still := cur[c.ID]; !still {
			ev(c, "destroy")
		}
	}
}

func mapValues(m map[string]ObservedContainer) []ObservedContainer {
	out := make([]ObservedContainer, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	return out
}
