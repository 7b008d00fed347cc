package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// listener is the set of sockets serving one gateway address: several
// UDP sockets sharing the port through SO_REUSEPORT (one reader each, so
// the kernel spreads queries over the cores) and one TCP server.
type listener struct {
	gw  [4]byte
	udp []*rawUDP
	tcp *dns.Server
}

// listenControl sets SO_REUSEPORT (several UDP readers on one port) and
// IP_FREEBIND (bind the gateway address even before the bridge has it).
func listenControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// openListener binds gw:port over UDP (nUDP sockets) and TCP and starts
// serving with h.
func openListener(ctx context.Context, gw [4]byte, port, nUDP int, h *netHandler) (*listener, error) {
	addr := netip.AddrPortFrom(netip.AddrFrom4(gw), uint16(port)).String()
	// UDP serving starts only once every socket is bound: a failed bind
	// leaves no goroutine behind.
	lc := net.ListenConfig{Control: listenControl}
	l := &listener{gw: gw}
	fail := func(err error) (*listener, error) {
		l.close()
		return nil, fmt.Errorf("dns listener %s: %w", addr, err)
	}
	for range max(nUDP, 1) {
		u, err := openRawUDP(netip.AddrPortFrom(netip.AddrFrom4(gw), uint16(port)))
		if err != nil {
			return fail(err)
		}
		l.udp = append(l.udp, u)
	}
	tl, err := lc.Listen(ctx, "tcp4", addr)
	if err != nil {
		return fail(err)
	}
	started := make(chan struct{})
	l.tcp = &dns.Server{Listener: tl, Net: "tcp", Handler: h,
		ReadTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 5 * time.Second },
		NotifyStartedFunc: func() { close(started) }}
	go func() { _ = l.tcp.ActivateAndServe() }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		tl.Close()
		l.tcp = nil
		return fail(errors.New("tcp server did not start"))
	}
	for _, u := range l.udp {
		u.start(h)
	}
	return l, nil
}

// close stops every socket of l.
func (l *listener) close() {
	for _, u := range l.udp {
		u.close()
	}
	if l.tcp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.tcp.ShutdownContext(ctx)
		cancel()
	}
}

// udpWriter is the dns.ResponseWriter of one UDP query.
type udpWriter struct {
	u  *rawUDP
	to netip.AddrPort
}

func (w *udpWriter) LocalAddr() net.Addr  { return &net.UDPAddr{} }
func (w *udpWriter) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(w.to) }
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *udpWriter) Write(b []byte) (int, error) {
	if err := w.u.sendTo(b, w.to); err != nil {
		return 0, err
	}
	return len(b), nil
}
func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}
func (w *udpWriter) Network() string     { return "udp" }

var _ dns.ResponseWriter = (*udpWriter)(nil)
