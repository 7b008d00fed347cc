package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/berth/berth/internal/conmon"
	"github.com/berth/berth/internal/errdefs"
)

// The attach protocol (frames) and the monitor's server live in
// internal/conmon, which the small idle monitor shares.

// attachSession is a client's connection.
type attachSession struct {
	conn net.Conn
	opts AttachOptions
	// exitCode is the process's exit code when the monitor sent it.
	exitCode *int
}

func (m *Manager) dialAttach(ctx context.Context, c *Container, o AttachOptions) (*attachSession, error) {
	var d net.Dialer
	var conn net.Conn
	err := withShortPath(m.AttachSocket(c.ID), func(p string) (err error) {
		conn, err = d.DialContext(ctx, "unix", p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: attach: %v: %w", c.Name, err, errdefs.ErrUnavailable)
	}
	return &attachSession{conn: conn, opts: o}, nil
}

func (s *attachSession) close() { s.conn.Close() }

// run streams until the monitor closes the connection (nil), the user types
// the detach keys (ErrDetached) or ctx is done.
func (s *attachSession) run(ctx context.Context) error {
	keys, err := parseDetachKeys(s.opts.DetachKeys)
	if err != nil {
		return err
	}
	detached := make(chan struct{})
	var wmu sync.Mutex
	send := func(id byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conmon.WriteFrame(s.conn, id, p)
	}
	if s.opts.Stdin != nil {
		go func() {
			if copyStdin(s.opts.Stdin, keys, func(p []byte) error { return send(conmon.FrameStdin, p) }) {
				close(detached)
				s.conn.Close()
				return
			}
			send(conmon.FrameEOF, nil)
		}()
	}
	if s.opts.Resize != nil {
		go func() {
			for ws := range s.opts.Resize {
				var p [4]byte
				binary.BigEndian.PutUint16(p[:], ws.Width)
				binary.BigEndian.PutUint16(p[2:], ws.Height)
				if send(conmon.FrameResize, p[:]) != nil {
					return
				}
			}
		}()
	}
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	buf := make([]byte, 32*1024)
	for {
		id, p, err := conmon.ReadFrame(s.conn, buf)
		if err != nil {
			select {
			case <-detached:
				return ErrDetached
			default:
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		if id == conmon.FrameExit {
			if len(p) == 4 {
				code := int(int32(binary.BigEndian.Uint32(p)))
				s.exitCode = &code
			}
			continue
		}
		w := s.opts.Stdout
		if id == conmon.FrameStderr && s.opts.Stderr != nil {
			w = s.opts.Stderr
		}
		if w != nil {
			w.Write(p)
		}
	}
}

// copyStdin forwards r to send until EOF (false) or the detach keys (true).
func copyStdin(r io.Reader, keys []byte, send func([]byte) error) bool {
	buf := make([]byte, 4096)
	matched := 0
	for {
		n, err := r.Read(buf)
		out := make([]byte, 0, n+len(keys))
		for _, b := range buf[:n] {
			if len(keys) > 0 && b == keys[matched] {
				matched++
				if matched == len(keys) {
					if len(out) > 0 {
						send(out)
					}
					return true
				}
				continue
			}
			out = append(out, keys[:matched]...)
			matched = 0
			out = append(out, b)
		}
		if len(out) > 0 && send(out) != nil {
			return false
		}
		if err != nil {
			return false
		}
	}
}

// parseDetachKeys parses Docker's detach keys ("ctrl-p,ctrl-q", "a", ...).
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = "ctrl-p,ctrl-q"
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(strings.ToLower(k))
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case strings.HasPrefix(k, "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c >= '[' && c <= '_':
				out = append(out, c-'['+27)
			default:
				return nil, fmt.Errorf("invalid detach key %q: %w", k, errdefs.ErrInvalidArgument)
			}
		default:
			return nil, fmt.Errorf("invalid detach key %q: use ctrl-<value> or a single character: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	return out, nil
}

// Attach connects to a running container's stdio until it stops (nil),
// the user types the detach keys (ErrDetached) or ctx is done. With Logs,
// the log so far is written first.
func (m *Manager) Attach(ctx context.Context, ref string, opts AttachOptions) error {
	c, err := m.Get(ctx, ref)
	if err != nil {
		return err
	}
	if !c.State.Running() {
		return fmt.Errorf("container %s is not running: you cannot attach to a stopped container, start it first: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	if opts.Logs {
		if err := m.Logs(ctx, c.ID, LogOptions{Tail: -1}, opts.Stdout, opts.Stderr); err != nil {
			return err
		}
	}
	s, err := m.dialAttach(ctx, c, opts)
	if err != nil {
		return err
	}
	defer s.close()
	return s.run(ctx)
}

// withShortPath calls f with path, or a short equivalent of it.
func withShortPath(path string, f func(string) error) error { return conmon.WithShortPath(path, f) }
