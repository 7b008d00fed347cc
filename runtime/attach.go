package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// The attach protocol on <RunRoot>/<id>/attach.sock: frames of a stream id
// byte, a big-endian uint32 length and the payload. The monitor sends
// stdout and stderr frames and closes the connection when the process
// exits; a client sends stdin, stdin-EOF and resize (uint16 width, height)
// frames.
const (
	frameStdin  = 0
	frameStdout = 1
	frameStderr = 2
	frameEOF    = 3
	frameResize = 4
	frameExit   = 5 // the process's exit code (4 bytes), sent before the monitor ends a session
)

func writeFrame(w io.Writer, id byte, p []byte) error {
	var hdr [5]byte
	hdr[0] = id
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > 1<<20 {
		return 0, nil, errors.New("attach: frame too large")
	}
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return hdr[0], buf, err
}

// attachServer is the monitor's side: it broadcasts output to its clients
// and forwards their input.
type attachServer struct {
	ln      net.Listener
	mon     *monitor
	mu      sync.Mutex
	clients map[net.Conn]bool
	first   chan struct{}
	once    sync.Once
}

func newAttachServer(path string, mon *monitor) (*attachServer, error) {
	os.Remove(path)
	var ln net.Listener
	err := withShortPath(path, func(p string) (err error) {
		ln, err = net.Listen("unix", p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	a := &attachServer{ln: ln, mon: mon, clients: map[net.Conn]bool{}, first: make(chan struct{})}
	mon.log.setSink(a.broadcast)
	go a.accept()
	return a, nil
}

func (a *attachServer) accept() {
	for {
		conn, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.clients[conn] = true
		a.mu.Unlock()
		a.once.Do(func() { close(a.first) })
		go a.serve(conn)
	}
}

// serve forwards one client's input.
func (a *attachServer) serve(conn net.Conn) {
	buf := make([]byte, 4096)
	for {
		id, p, err := readFrame(conn, buf)
		if err != nil {
			a.drop(conn)
			return
		}
		if !a.mon.c.Spec.Process.OpenStdin && id != frameResize {
			continue
		}
		switch id {
		case frameStdin:
			a.mon.writeStdin(p)
		case frameEOF:
			a.mon.closeStdin()
		case frameResize:
			if len(p) == 4 {
				a.mon.resize(binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
			}
		}
	}
}

func (a *attachServer) drop(conn net.Conn) {
	a.mu.Lock()
	delete(a.clients, conn)
	a.mu.Unlock()
	conn.Close()
}

// broadcast sends output to every client; a client that cannot keep up
// for 5 s is dropped.
func (a *attachServer) broadcast(stream string, p []byte) {
	id := byte(frameStdout)
	if stream == "stderr" {
		id = frameStderr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for conn := range a.clients {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := writeFrame(conn, id, p); err != nil {
			delete(a.clients, conn)
			conn.Close()
		}
	}
}

// endRun tells every client the process's exit code and disconnects it:
// the process exited. The code travels in the session, so a client never
// depends on reading state that a --rm removal may be deleting.
func (a *attachServer) endRun(code int) {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], uint32(int32(code)))
	a.mu.Lock()
	defer a.mu.Unlock()
	for conn := range a.clients {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		writeFrame(conn, frameExit, p[:])
		a.disconnectLocked(conn)
	}
}

// disconnectLocked closes one client; a.mu is held.
func (a *attachServer) disconnectLocked(conn net.Conn) {
	conn.Close()
	delete(a.clients, conn)
}

// disconnectAll ends every session without an exit code (the monitor is
// shutting down).
func (a *attachServer) disconnectAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for conn := range a.clients {
		a.disconnectLocked(conn)
	}
}

// waitClient waits until a client connected or d passed.
func (a *attachServer) waitClient(d time.Duration) {
	select {
	case <-a.first:
	case <-time.After(d):
	}
}

func (a *attachServer) close() {
	a.mon.log.setSink(nil)
	a.ln.Close()
	a.disconnectAll()
}

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
		return writeFrame(s.conn, id, p)
	}
	if s.opts.Stdin != nil {
		go func() {
			if copyStdin(s.opts.Stdin, keys, func(p []byte) error { return send(frameStdin, p) }) {
				close(detached)
				s.conn.Close()
				return
			}
			send(frameEOF, nil)
		}()
	}
	if s.opts.Resize != nil {
		go func() {
			for ws := range s.opts.Resize {
				var p [4]byte
				binary.BigEndian.PutUint16(p[:], ws.Width)
				binary.BigEndian.PutUint16(p[2:], ws.Height)
				if send(frameResize, p[:]) != nil {
					return
				}
			}
		}()
	}
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	buf := make([]byte, 32*1024)
	for {
		id, p, err := readFrame(s.conn, buf)
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
		if id == frameExit {
			if len(p) == 4 {
				code := int(int32(binary.BigEndian.Uint32(p)))
				s.exitCode = &code
			}
			continue
		}
		w := s.opts.Stdout
		if id == frameStderr && s.opts.Stderr != nil {
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

// withShortPath calls f with path, or, when path is too long for a unix
// socket address (108 bytes), with an equivalent short path through
// /proc/self/fd.
func withShortPath(path string, f func(string) error) error {
	if len(path) < 100 {
		return f(path)
	}
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer dir.Close()
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
}
