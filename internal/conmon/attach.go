package conmon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/portproxy"
)

// The attach protocol on <RunRoot>/<id>/attach.sock: frames of a stream id
// byte, a big-endian uint32 length and the payload. The monitor sends
// stdout and stderr frames and closes the connection when the process
// exits; a client sends stdin, stdin-EOF and resize (uint16 width, height)
// frames.
const (
	FrameStdin  = 0
	FrameStdout = 1
	FrameStderr = 2
	FrameEOF    = 3
	FrameResize = 4
	FrameExit   = 5 // the process's exit code (4 bytes), sent before the monitor ends a session
)

// WriteFrame writes one frame in one write, so that a reader stopped
// between frames (the monitor's exec) never leaves half of one behind.
func WriteFrame(w io.Writer, id byte, p []byte) error {
	b := make([]byte, 5, 5+len(p))
	b[0] = id
	binary.BigEndian.PutUint32(b[1:], uint32(len(p)))
	_, err := w.Write(append(b, p...))
	return err
}

// ReadFrame reads one frame, into buf when it is large enough.
func ReadFrame(r io.Reader, buf []byte) (byte, []byte, error) {
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

// Server is the monitor's side of the attach socket: it broadcasts the
// log's output to its clients and forwards their input to Stdio.
type Server struct {
	ln        *net.UnixListener
	log       *Log
	stdio     *Stdio
	openStdin bool
	wg        sync.WaitGroup // accept and client readers
	mu        sync.Mutex
	clients   map[net.Conn]bool
	pausing   bool
	first     chan struct{}
	once      sync.Once
}

// Listen listens on the attach socket at path (replacing a stale one).
func Listen(path string) (*net.UnixListener, error) {
	os.Remove(path)
	var ln net.Listener
	err := WithShortPath(path, func(p string) (err error) {
		ln, err = net.Listen("unix", p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	return ln.(*net.UnixListener), nil
}

// NewServer serves ln (and clients already connected, after a handover):
// output written to log reaches the clients; their input goes to stdio
// (only resizes unless openStdin).
func NewServer(ln *net.UnixListener, clients []net.Conn, log *Log, stdio *Stdio, openStdin bool) *Server {
	a := &Server{ln: ln, log: log, stdio: stdio, openStdin: openStdin, clients: map[net.Conn]bool{}, first: make(chan struct{})}
	log.SetSink(a.broadcast)
	for _, c := range clients {
		a.clients[c] = true
		a.wg.Add(1)
		go a.serve(c)
	}
	a.wg.Add(1)
	go a.accept()
	return a
}

func (a *Server) accept() {
	defer a.wg.Done()
	for {
		conn, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		if a.pausing {
			a.mu.Unlock()
			conn.Close()
			return
		}
		a.clients[conn] = true
		a.wg.Add(1)
		a.mu.Unlock()
		a.once.Do(func() { close(a.first) })
		go a.serve(conn)
	}
}

// serve forwards one client's input.
func (a *Server) serve(conn net.Conn) {
	defer a.wg.Done()
	buf := make([]byte, 4096)
	for {
		id, p, err := ReadFrame(conn, buf)
		if err != nil {
			a.mu.Lock()
			pausing := a.pausing
			a.mu.Unlock()
			if !pausing {
				a.drop(conn)
			}
			return
		}
		if !a.openStdin && id != FrameResize {
			continue
		}
		switch id {
		case FrameStdin:
			a.stdio.Write(p)
		case FrameEOF:
			a.stdio.CloseStdin()
		case FrameResize:
			if len(p) == 4 {
				a.stdio.Resize(binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
			}
		}
	}
}

func (a *Server) drop(conn net.Conn) {
	a.mu.Lock()
	delete(a.clients, conn)
	a.mu.Unlock()
	conn.Close()
}

// broadcast sends output to every client; a client that cannot keep up
// for 5 s is dropped.
func (a *Server) broadcast(stream string, p []byte) {
	id := byte(FrameStdout)
	if stream == "stderr" {
		id = FrameStderr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for conn := range a.clients {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := WriteFrame(conn, id, p); err != nil {
			delete(a.clients, conn)
			conn.Close()
		}
	}
}

// EndRun tells every client the process's exit code and disconnects it:
// the process exited. The code travels in the session, so a client never
// depends on reading state that a --rm removal may be deleting. It returns
// how many clients got the code.
func (a *Server) EndRun(code int) int {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], uint32(int32(code)))
	a.mu.Lock()
	defer a.mu.Unlock()
	told := 0
	for conn := range a.clients {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		if WriteFrame(conn, FrameExit, p[:]) == nil {
			told++
		}
		conn.Close()
		delete(a.clients, conn)
	}
	return told
}

// WaitClient waits until a client connected or d passed.
func (a *Server) WaitClient(d time.Duration) {
	select {
	case <-a.first:
	case <-time.After(d):
	}
}

// Close stops listening and ends every session without an exit code.
func (a *Server) Close() {
	a.log.SetSink(nil)
	a.ln.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for conn := range a.clients {
		conn.Close()
		delete(a.clients, conn)
	}
}

// Handover stops serving without closing anything and returns the
// listener's and the clients' descriptors, close-on-exec cleared, for the
// program the caller is about to exec. The Server must not be used after.
func (a *Server) Handover() (ln int, clients []int, err error) {
	a.mu.Lock()
	a.pausing = true
	conns := make([]net.Conn, 0, len(a.clients))
	for c := range a.clients {
		conns = append(conns, c)
	}
	a.mu.Unlock()
	a.log.SetSink(nil)
	past := time.Now().Add(-time.Second)
	a.ln.SetDeadline(past)
	for _, c := range conns {
		c.SetReadDeadline(past)
	}
	a.wg.Wait()
	if ln, err = portproxy.Inheritable(a.ln); err != nil {
		return -1, nil, err
	}
	for _, c := range conns {
		fd, err := portproxy.Inheritable(c.(syscall.Conn))
		if err != nil {
			continue // that client is dropped by the exec
		}
		clients = append(clients, fd)
	}
	return ln, clients, nil
}

// Resume undoes a Handover whose exec failed: the Server serves again.
func (a *Server) Resume() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pausing = false
	a.ln.SetDeadline(time.Time{})
	for c := range a.clients {
		c.SetReadDeadline(time.Time{})
		a.wg.Add(1)
		go a.serve(c)
	}
	a.wg.Add(1)
	go a.accept()
	a.log.SetSink(a.broadcast)
}

// ResumeServer rebuilds a Server from Handover's descriptors.
func ResumeServer(ln int, clients []int, log *Log, stdio *Stdio, openStdin bool) (*Server, error) {
	l, err := fileConn(ln, func(f *os.File) (any, error) { return net.FileListener(f) })
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		return nil, fmt.Errorf("attach socket: fd %d is not a unix listener", ln)
	}
	ul.SetUnlinkOnClose(true) // as the listener Listen made: the last Close removes the socket
	var conns []net.Conn
	for _, fd := range clients {
		c, err := fileConn(fd, func(f *os.File) (any, error) { return net.FileConn(f) })
		if err == nil {
			conns = append(conns, c.(net.Conn))
		}
	}
	return NewServer(ul, conns, log, stdio, openStdin), nil
}

func fileConn(fd int, f func(*os.File) (any, error)) (any, error) {
	file := os.NewFile(uintptr(fd), "socket")
	defer file.Close() // f dups it
	return f(file)
}

// WithShortPath calls f with path, or, when path is too long for a unix
// socket address (108 bytes), with an equivalent short path through
// /proc/self/fd.
func WithShortPath(path string, f func(string) error) error {
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
