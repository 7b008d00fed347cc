package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"github.com/berth/berth/internal/conmon"
)

// Logs writes the container's log to stdout and stderr, as its streams
// were. Tail keeps the last N entries (negative: all); Since and
// Until bound entry times; Timestamps prefixes each line with its time;
// Follow keeps reading until the container stopped for good (across
// restarts) or ctx is done.
func (m *Manager) Logs(ctx context.Context, ref string, opts LogOptions, stdout, stderr io.Writer) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	f, err := os.Open(m.LogPath(c.ID))
	if errors.Is(err, os.ErrNotExist) {
		if !opts.Follow {
			return nil
		}
		for errors.Is(err, os.ErrNotExist) {
			if done, werr := m.logsDone(ctx, c.ID); done || werr != nil {
				return werr
			}
			time.Sleep(50 * time.Millisecond)
			f, err = os.Open(m.LogPath(c.ID))
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	out := func(e conmon.LogEntry) error {
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
			return nil
		}
		if !opts.Until.IsZero() && e.Time.After(opts.Until) {
			return nil
		}
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if w == nil {
			return nil
		}
		if opts.Timestamps {
			if _, err := io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" "); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, e.Log)
		return err
	}
	br := bufio.NewReader(f)
	var partial []byte
	if opts.Tail >= 0 {
		err = tailEntries(br, &partial, opts.Tail, out)
	} else {
		err = readEntries(br, &partial, out)
	}
	if err != nil || !opts.Follow {
		return err
	}
	return m.follow(ctx, c.ID, br, &partial, out)
}

// readEntries decodes complete entries from br until EOF; an incomplete last
// line stays in *partial for the next call.
func readEntries(br *bufio.Reader, partial *[]byte, out func(conmon.LogEntry) error) error {
	for {
		line, err := br.ReadBytes('\n')
		*partial = append(*partial, line...)
		if err != nil {
			return nil
		}
		var e conmon.LogEntry
		if json.Unmarshal(*partial, &e) == nil {
			if err := out(e); err != nil {
				return err
			}
		}
		*partial = (*partial)[:0]
	}
}

// tailEntries writes the last n complete entries of br.
func tailEntries(br *bufio.Reader, partial *[]byte, n int, out func(conmon.LogEntry) error) error {
	var ring [][]byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			*partial = append(*partial, line...)
			break
		}
		if n == 0 {
			continue
		}
		ring = append(ring, line)
		if len(ring) > n {
			ring = ring[1:]
		}
	}
	for _, l := range ring {
		var e conmon.LogEntry
		if json.Unmarshal(l, &e) == nil {
			if err := out(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// logsDone reports whether a follower should stop: the container stopped
// for good (not running and not restarting).
func (m *Manager) logsDone(ctx context.Context, id string) (bool, error) {
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	c, err := m.load(id)
	if err != nil {
		return true, nil
	}
	m.checkMonitor(c)
	return !c.State.Running() && !m.monitorAlive(id), nil
}

// follow reads new entries as the monitor appends them.
func (m *Manager) follow(ctx context.Context, id string, br *bufio.Reader, partial *[]byte, out func(conmon.LogEntry) error) error {
	for {
		done, err := m.logsDone(ctx, id)
		if err != nil {
			return err
		}
		if err := readEntries(br, partial, out); err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
