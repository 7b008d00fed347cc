package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// LogSource reads one container's log (Docker's json-file format kept by
// the runtime). With Follow it returns once the container has stopped and
// its log is drained, or when ctx ends.
type LogSource interface {
	Logs(ctx context.Context, id string, o LogReadOptions, stdout, stderr io.Writer) error
}

// LogReadOptions select what LogSource.Logs writes.
type LogReadOptions struct {
	Follow     bool
	Timestamps bool // each line starts with its RFC 3339 time and a space
	Tail       int  // -1: all
	Since      time.Time
	Until      time.Time
}

// StreamOptions shape StreamLogs.
type StreamOptions struct {
	Services []string // only these services' containers; empty: all
	Read     LogReadOptions
	// Poll is how often the project is listed for containers that start
	// later (default 500ms; follow only).
	Poll time.Duration
	// Busy, when set, reports whether a command is changing the project
	// now (ProjectBusy); follow does not end while it is, so a restart or
	// a recreate that stops every container briefly does not end it.
	Busy func() bool
}

// ProjectBusy returns a StreamOptions.Busy that reports whether a process
// holds the project's lock (LockProject with the same dir and name).
func ProjectBusy(dir, name string) func() bool {
	return func() bool {
		l, ok, err := lockfile.TryLock(filepath.Join(dir, name+".lock"))
		if err != nil {
			return false
		}
		if ok {
			l.Unlock()
		}
		return !ok
	}
}

// StreamLogs writes the logs of the project's containers to mux, each
// container's lines prefixed with its short name. Without Follow it writes
// what is there and returns. With Follow it keeps listing the project and
// also streams containers that start, restart or are recreated later; it
// returns when no container of the selection runs and every stream has
// ended, or when ctx ends.
func StreamLogs(ctx context.Context, cs Containers, src LogSource, project string, mux *LogMux, o StreamOptions) error {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	want := map[string]bool{}
	for _, s := range o.Services {
		want[s] = true
	}
	s := &streams{src: src, mux: mux, project: project, active: map[string]bool{}, seen: map[string]time.Time{}}
	stopped := false // the previous poll found the selection stopped
	for first := true; ; first = false {
		list, err := cs.List(ctx, project)
		if err != nil {
			return fmt.Errorf("project %q: list containers: %w", project, err)
		}
		running := false
		var selected []ObservedContainer
		for _, c := range sortedContainers(list) {
			if !c.OneOff && (len(want) == 0 || want[c.Service]) {
				selected = append(selected, c)
				mux.Add(ShortName(project, c.Name)) // align before the first line
			}
		}
		for _, c := range selected {
			if isRunning(c.State) {
				running = true
			}
			read := o.Read
			if !first {
				read.Tail = -1 // a container that came later: all of it
			}
			s.start(ctx, c, read, isRunning(c.State))
		}
		if !o.Read.Follow {
			s.wg.Wait()
			return s.err()
		}
		// it ends once two polls in a row found nothing running, no stream
		// and no command changing the project (a restart between them runs
		// or holds the lock)
		if !running && s.idle() && (o.Busy == nil || !o.Busy()) {
			if stopped {
				return s.err()
			}
			stopped = true
		} else {
			stopped = false
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// streams tracks the per-container log goroutines of StreamLogs.
type streams struct {
	src     LogSource
	mux     *LogMux
	project string
	wg      sync.WaitGroup
	mu      sync.Mutex
	active  map[string]bool // container id -> streaming now
	// seen maps the id of a container streamed since start to the time its
	// last stream ended (zero while one runs).
	seen map[string]time.Time
	errs []error
}

// start streams c unless it is being streamed; a stopped container already
// streamed is not replayed, a restarted one resumes with the lines written
// since its previous stream ended (a restart between two polls included).
func (s *streams) start(ctx context.Context, c ObservedContainer, o LogReadOptions, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ended, seen := s.seen[c.ID]
	if s.active[c.ID] || (seen && !running) {
		return
	}
	if seen {
		o.Tail, o.Since = -1, ended
	}
	s.active[c.ID], s.seen[c.ID] = true, time.Time{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		w := s.mux.Writer(ShortName(s.project, c.Name))
		err := s.src.Logs(ctx, c.ID, o, w, w)
		w.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.active[c.ID], s.seen[c.ID] = false, time.Now()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errdefs.ErrNotFound) {
			s.errs = append(s.errs, fmt.Errorf("container %q: logs: %w", c.Name, err))
		}
	}()
}

func (s *streams) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.active {
		if a {
			return false
		}
	}
	return true
}

func (s *streams) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Slice(s.errs, func(i, j int) bool { return s.errs[i].Error() < s.errs[j].Error() })
	return errors.Join(s.errs...)
}
