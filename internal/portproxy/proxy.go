package portproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// udpIdle is how long a UDP flow without replies is kept.
const udpIdle = 90 * time.Second

// Port is one bound host socket and where it forwards to.
type Port struct {
	// L is a *net.TCPListener or a *net.UDPConn.
	L io.Closer
	// Target is the container's address and port.
	Target net.IP
	Port   int
}

// Proxy is the userland port proxy of one container. It stays lean: two
// goroutines per TCP connection copying with io.Copy between *net.TCPConn
// (splice on Linux, no buffers of its own), and one buffer per UDP flow.
// It holds its sockets from New and serves them from Serve until Close.
type Proxy struct {
	ports  []Port
	wg     sync.WaitGroup
	ctx    context.Context // cancelled by Close: ends pending dials
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	serving bool
	conns   map[io.Closer]struct{}
}

// New returns a Proxy holding ports; nothing is served before Serve.
func New(ports []Port) *Proxy {
	p := &Proxy{ports: ports, conns: map[io.Closer]struct{}{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// Serve starts proxying; it is a no-op when serving or closed.
func (p *Proxy) Serve() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serving || p.closed {
		return
	}
	p.serving = true
	for _, port := range p.ports {
		p.wg.Add(1)
		switch l := port.L.(type) {
		case *net.TCPListener:
			go p.acceptTCP(l, &net.TCPAddr{IP: port.Target, Port: port.Port})
		case *net.UDPConn:
			go p.serveUDP(l, &net.UDPAddr{IP: port.Target, Port: port.Port})
		default:
			p.wg.Done()
		}
	}
}

// Ports returns the sockets the proxy holds.
func (p *Proxy) Ports() []Port { return p.ports }

// Close stops the proxy: listeners and every proxied connection close.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	for _, port := range p.ports {
		port.L.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// File is a held socket as it crosses an exec: its descriptor number (not
// close-on-exec) and what it forwards to.
type File struct {
	FD     int    `json:"fd"`
	Proto  string `json:"proto"`
	Target string `json:"target"` // ip
	Port   int    `json:"port"`
}

// Files clears close-on-exec on the proxy's sockets and describes them for
// FromFiles in the program the caller is about to exec. The proxy must not
// be used afterwards except to exec.
func (p *Proxy) Files() ([]File, error) {
	out := make([]File, 0, len(p.ports))
	for _, port := range p.ports {
		proto := "tcp"
		if _, ok := port.L.(*net.UDPConn); ok {
			proto = "udp"
		}
		sc, ok := port.L.(syscall.Conn)
		if !ok {
			return nil, fmt.Errorf("port %d: not a socket", port.Port)
		}
		fd, err := Inheritable(sc)
		if err != nil {
			return nil, err
		}
		out = append(out, File{FD: fd, Proto: proto, Target: port.Target.String(), Port: port.Port})
	}
	return out, nil
}

// FromFiles rebuilds a (not yet serving) Proxy from inherited sockets.
func FromFiles(fs []File) (*Proxy, error) {
	var ports []Port
	for _, f := range fs {
		file := os.NewFile(uintptr(f.FD), "port")
		syscall.CloseOnExec(f.FD)
		var l io.Closer
		var err error
		if f.Proto == "udp" {
			l, err = net.FilePacketConn(file)
		} else {
			l, err = net.FileListener(file)
		}
		file.Close()
		if err != nil {
			for _, p := range ports {
				p.L.Close()
			}
			return nil, fmt.Errorf("port %d/%s: %w", f.Port, f.Proto, err)
		}
		ports = append(ports, Port{L: l, Target: net.ParseIP(f.Target), Port: f.Port})
	}
	return New(ports), nil
}

// Inheritable returns sc's descriptor with close-on-exec cleared, so an
// exec'd program inherits it at the same number.
func Inheritable(sc syscall.Conn) (int, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var ferr error
	if err := rc.Control(func(u uintptr) {
		fd = int(u)
		_, _, e := syscall.Syscall(syscall.SYS_FCNTL, u, syscall.F_SETFD, 0)
		if e != 0 {
			ferr = e
		}
	}); err != nil {
		return -1, err
	}
	return fd, ferr
}

// track registers c so Close can end it; false when already closed.
func (p *Proxy) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c io.Closer) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *Proxy) acceptTCP(l *net.TCPListener, target *net.TCPAddr) {
	defer p.wg.Done()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if p.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: back off
			continue
		}
		p.wg.Add(1)
		go p.serveTCP(c, target)
	}
}

func (p *Proxy) serveTCP(c *net.TCPConn, target *net.TCPAddr) {
	defer p.wg.Done()
	if !p.track(c) {
		c.Close()
		return
	}
	defer p.untrack(c)
	d := net.Dialer{Timeout: 5 * time.Second}
	bc, err := d.DialContext(p.ctx, "tcp", target.String())
	if err != nil {
		return
	}
	b := bc.(*net.TCPConn)
	if !p.track(b) {
		b.Close()
		return
	}
	defer p.untrack(b)
	done := make(chan struct{})
	go func() {
		io.Copy(b, c) // splice
		b.CloseWrite()
		close(done)
	}()
	io.Copy(c, b)
	c.CloseWrite()
	<-done
}
