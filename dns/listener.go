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
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// listener is the set of sockets serving one gateway address: several
// UDP sockets sharing the port through SO_REUSEPORT (one reader each, so
// the kernel spreads queries over the cores) and one TCP server.
type listener struct {
	gw   [4]byte
	udp  []*net.UDPConn
	tcp  *dns.Server
	done chan struct{}
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

// udpReadBuffer is the receive buffer asked for each UDP socket: room for
// tens of thousands of queries, so a reader descheduled for a few
// milliseconds on a busy host drops none.
const udpReadBuffer = 4 << 20

// growReadBuffer raises c's receive buffer beyond net.core.rmem_max when
// allowed (root: SO_RCVBUFFORCE), else as far as the limit allows.
func growReadBuffer(c *net.UDPConn) {
	raw, err := c.SyscallConn()
	if err == nil {
		var serr error
		err = raw.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, udpReadBuffer)
		})
		if err == nil && serr == nil {
			return
		}
	}
	_ = c.SetReadBuffer(udpReadBuffer)
}

// openListener binds gw:port over UDP (nUDP sockets) and TCP and starts
// serving with h.
func openListener(ctx context.Context, gw [4]byte, port, nUDP int, h *netHandler) (*listener, error) {
	addr := netip.AddrPortFrom(netip.AddrFrom4(gw), uint16(port)).String()
	lc := net.ListenConfig{Control: listenControl}
	l := &listener{gw: gw, done: make(chan struct{})}
	fail := func(err error) (*listener, error) {
		l.close()
		return nil, fmt.Errorf("dns listener %s: %w", addr, err)
	}
	for range max(nUDP, 1) {
		pc, err := lc.ListenPacket(ctx, "udp4", addr)
		if err != nil {
			return fail(err)
		}
		uc := pc.(*net.UDPConn)
		growReadBuffer(uc)
		l.udp = append(l.udp, uc)
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
	for _, c := range l.udp {
		go serveUDP(c, h)
	}
	return l, nil
}

// close stops every socket of l.
func (l *listener) close() {
	for _, c := range l.udp {
		c.Close()
	}
	if l.tcp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.tcp.ShutdownContext(ctx)
		cancel()
	}
}

// batch is how many datagrams one recvmmsg/sendmmsg moves.
const batch = 32

// serveUDP is one UDP reader. It reads up to batch queries per system
// call, answers the common ones in place (fastAnswer) and sends those
// answers back with one system call; everything else goes to the general
// handler in its own goroutine (forwarding may wait on an upstream).
func serveUDP(c *net.UDPConn, h *netHandler) {
	pc := ipv4.NewPacketConn(c)
	in := make([]ipv4.Message, batch)
	out := make([]ipv4.Message, batch)
	outBufs := make([][]byte, batch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 4096)}
		outBufs[i] = make([]byte, 0, 4096)
		out[i].Buffers = make([][]byte, 1)
	}
	st := newFastState()
	for {
		n, err := pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		t := h.r.tbl.Load()
		var nt *netTable
		if t != nil {
			nt = t.byGateway[h.gw]
		}
		k := 0
		for i := range in[:n] {
			pkt := in[i].Buffers[0][:in[i].N]
			if ans, ok := fastAnswer(t, nt, pkt, outBufs[k], st); ok {
				out[k].Buffers[0] = ans
				out[k].Addr = in[i].Addr
				k++
				continue
			}
			slowUDP(c, h, pkt, in[i].Addr)
		}
		for sent := 0; sent < k; {
			m, err := pc.WriteBatch(out[sent:k], 0)
			if err != nil || m == 0 {
				break // the client is gone or the socket closed: drop the answers
			}
			sent += m
		}
	}
}

// slowUDP hands one query the fast path declined to the general handler.
func slowUDP(c *net.UDPConn, h *netHandler, pkt []byte, from net.Addr) {
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		return
	}
	to := ua.AddrPort()
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil {
		if len(pkt) >= 12 {
			formErr(c, pkt, to)
		}
		return
	}
	go h.ServeDNS(&udpWriter{c: c, to: to}, req)
}

// formErr answers an unparsable query with FORMERR, keeping its id.
func formErr(c *net.UDPConn, pkt []byte, to netip.AddrPort) {
	if pkt[2]&0x80 != 0 { // a response: never answer those
		return
	}
	out := []byte{pkt[0], pkt[1], 0x80 | pkt[2]&0x79, 0x80 | dns.RcodeFormatError, 0, 0, 0, 0, 0, 0, 0, 0}
	_, _ = c.WriteToUDPAddrPort(out, to)
}

// udpWriter is the dns.ResponseWriter of one UDP query.
type udpWriter struct {
	c  *net.UDPConn
	to netip.AddrPort
}

func (w *udpWriter) LocalAddr() net.Addr  { return w.c.LocalAddr() }
func (w *udpWriter) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(w.to) }
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *udpWriter) Write(b []byte) (int, error) { return w.c.WriteToUDPAddrPort(b, w.to) }
func (w *udpWriter) Close() error                { return nil }
func (w *udpWriter) TsigStatus() error           { return nil }
func (w *udpWriter) TsigTimersOnly(bool)         {}
func (w *udpWriter) Hijack()                     {}
func (w *udpWriter) Network() string             { return "udp" }

var _ dns.ResponseWriter = (*udpWriter)(nil)
