package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// udpIdle is how long a UDP flow without replies is kept.
const udpIdle = 90 * time.Second

// proxy is the userland port proxy of one container. It runs inside the
// container's monitor, so it stays lean: two goroutines per TCP connection
// copying with io.Copy between *net.TCPConn (splice on Linux, no buffers of
// its own), and one buffer per UDP flow.
type proxy struct {
	target net.IP
	wg     sync.WaitGroup
	ctx    context.Context // cancelled by Close: ends pending dials
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners []io.Closer
	conns     map[io.Closer]struct{}
}

// PublishPorts binds every host socket of ports now, then proxies TCP
// connections and UDP datagrams to targetIP:ContainerPort until the
// returned Closer is closed. A port in use by anything fails with
// ErrConflict naming it, and nothing stays bound. The returned mappings
// carry the ports actually bound (ephemeral ones filled in).
func PublishPorts(ctx context.Context, ports []PortMapping, targetIP string) (io.Closer, []PortMapping, error) {
	target := net.ParseIP(targetIP)
	if target == nil {
		return nil, nil, fmt.Errorf("publish ports: target %q is not an IP address: %w", targetIP, errdefs.ErrInvalidArgument)
	}
	p := &proxy{target: target, conns: map[io.Closer]struct{}{}}
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	out := make([]PortMapping, 0, len(ports))
	type bound struct {
		l    io.Closer
		port int
	}
	var all []bound
	for _, m := range ports {
		ls, port, err := bindMapping(ctx, m)
		if err != nil {
			for _, b := range all {
				b.l.Close()
			}
			p.cancel()
			return nil, nil, err
		}
		for _, l := range ls {
			all = append(all, bound{l, m.ContainerPort})
		}
		m.HostPort = port
		out = append(out, m)
	}
	for _, b := range all {
		p.listeners = append(p.listeners, b.l)
		p.wg.Add(1)
		switch l := b.l.(type) {
		case *net.TCPListener:
			go p.acceptTCP(l, b.port)
		case *net.UDPConn:
			go p.serveUDP(l, b.port)
		}
	}
	return p, out, nil
}

// bindMapping binds the host sockets of one mapping and returns them with
// the host port bound.
func bindMapping(ctx context.Context, m PortMapping) ([]io.Closer, int, error) {
	addrs := []string{m.HostIP}
	optional := map[string]bool{}
	if m.HostIP == "" {
		addrs = []string{"0.0.0.0", "::"}
		optional["::"] = true // hosts without IPv6 just skip it
	}
	port := m.HostPort
	var ls []io.Closer
	for _, a := range addrs {
		l, err := bindOne(ctx, m.Proto, a, port)
		if err != nil {
			if optional[a] && (m.HostPort == 0 || !errors.Is(err, syscall.EADDRINUSE)) {
				continue
			}
			for _, l := range ls {
				l.Close()
			}
			hp := strconv.Itoa(m.HostPort)
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, 0, errdefs.Errorf(errdefs.ErrConflict, "bind %s/%s: port is already in use", net.JoinHostPort(a, hp), m.Proto)
			}
			return nil, 0, fmt.Errorf("bind %s/%s: %w", net.JoinHostPort(a, hp), m.Proto, err)
		}
		ls = append(ls, l)
		if port == 0 {
			port = localPort(l)
		}
	}
	return ls, port, nil
}

func bindOne(ctx context.Context, proto, ip string, port int) (io.Closer, error) {
	family := "4"
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		family = "6" // tcp6/udp6 listeners are IPV6_V6ONLY, so :: and 0.0.0.0 coexist
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	var lc net.ListenConfig
	if proto == "udp" {
		return lc.ListenPacket(ctx, "udp"+family, addr)
	}
	return lc.Listen(ctx, "tcp"+family, addr)
}

func localPort(l io.Closer) int {
	switch l := l.(type) {
	case net.Listener:
		return l.Addr().(*net.TCPAddr).Port
	case net.PacketConn:
		return l.LocalAddr().(*net.UDPAddr).Port
	}
	return 0
}

// Close stops the proxy: listeners and every proxied connection close.
func (p *proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	for _, l := range p.listeners {
		l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// track registers c so Close can end it; false when already closed.
func (p *proxy) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c io.Closer) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *proxy) acceptTCP(l *net.TCPListener, port int) {
	defer p.wg.Done()
	target := &net.TCPAddr{IP: p.target, Port: port}
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

func (p *proxy) serveTCP(c *net.TCPConn, target *net.TCPAddr) {
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
