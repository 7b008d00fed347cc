package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

const (
	// batch is how many datagrams one recvmmsg/sendmmsg moves.
	batch = 32
	// udpReadBuffer is the receive buffer asked for each UDP socket: room
	// for thousands of queries, so a reader descheduled for a few
	// milliseconds on a busy host drops none.
	udpReadBuffer = 4 << 20
)

// rawUDP is one UDP socket served C-style: a goroutine blocks in
// recvmmsg(MSG_WAITFORONE) on a blocking socket, answers the batch and
// sends the answers with one sendmmsg. Compared with Go's netpoller
// (park the goroutine, epoll, wake a thread, unpark) this needs one
// sleep and one wake-up per batch, which is what bounds throughput on a
// busy virtual machine where every context switch is expensive.
type rawUDP struct {
	fd      int
	mu      sync.RWMutex // held for writing only to close fd; slow-path writers hold it for reading
	closed  atomic.Bool
	serving bool // start was called
	done    chan struct{}
}

// openRawUDP binds a blocking UDP socket to addr with SO_REUSEPORT,
// IP_FREEBIND, a large receive buffer and a receive timeout (a fallback
// for noticing close).
func openRawUDP(addr netip.AddrPort) (*rawUDP, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("udp socket: %w", err)
	}
	opts := []struct{ level, opt, val int }{
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{unix.SOL_IP, unix.IP_FREEBIND, 1},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("udp socket option %d: %w", o.opt, err)
		}
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, udpReadBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, udpReadBuffer)
	}
	tv := unix.Timeval{Sec: 1}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind udp %s: %w", addr, err)
	}
	return &rawUDP{fd: fd, done: make(chan struct{})}, nil
}

// start serves the socket with h in a new goroutine.
func (u *rawUDP) start(h *netHandler) {
	u.serving = true
	go u.serve(h)
}

// close wakes the reader (shutdown), waits for it and closes the socket.
// It is called by the goroutine that called start, if any.
func (u *rawUDP) close() {
	if u.closed.Swap(true) {
		return
	}
	if u.serving {
		_ = unix.Shutdown(u.fd, unix.SHUT_RDWR) // ENOTCONN on UDP, but it wakes the reader
		<-u.done
	}
	u.mu.Lock()
	unix.Close(u.fd)
	u.mu.Unlock()
}

// sendTo writes one datagram unless the socket was closed.
func (u *rawUDP) sendTo(b []byte, to netip.AddrPort) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed.Load() {
		return errors.New("socket closed")
	}
	return unix.Sendto(u.fd, b, 0, &unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().Unmap().As4()})
}

// udpBatch is the reader's memory, allocated once.
type udpBatch struct {
	in    [batch]unix.Mmsghdr
	inIov [batch]unix.Iovec
	names [batch]unix.RawSockaddrInet4
	bufs  [batch][]byte

	out    [batch]unix.Mmsghdr
	outIov [batch]unix.Iovec
	obufs  [batch][]byte
}

func newUDPBatch() *udpBatch {
	b := &udpBatch{}
	for i := range batch {
		b.bufs[i] = make([]byte, 4096)
		b.obufs[i] = make([]byte, 0, ednsSize)
		b.inIov[i].Base = &b.bufs[i][0]
		b.inIov[i].SetLen(len(b.bufs[i]))
		b.in[i].Hdr.Iov = &b.inIov[i]
		b.in[i].Hdr.SetIovlen(1)
		b.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.out[i].Hdr.Iov = &b.outIov[i]
		b.out[i].Hdr.SetIovlen(1)
	}
	return b
}

// serve reads, answers and writes until close.
func (u *rawUDP) serve(h *netHandler) {
	defer close(u.done)
	b := newUDPBatch()
	st := newFastState()
	for !u.closed.Load() {
		for i := range batch {
			b.in[i].Hdr.Namelen = unix.SizeofSockaddrInet4
			b.in[i].Len = 0
		}
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(u.fd), uintptr(unsafe.Pointer(&b.in[0])), batch, unix.MSG_WAITFORONE, 0, 0)
		if errno != 0 {
			continue // timeout (EAGAIN), EINTR, or closed: the loop condition decides
		}
		t := h.r.tbl.Load()
		var nt *netTable
		if t != nil {
			nt = t.byGateway[h.gw]
		}
		k := 0
		for i := range int(r) {
			pkt := b.bufs[i][:b.in[i].Len]
			if len(pkt) == 0 || b.names[i].Family != unix.AF_INET {
				continue
			}
			if ans, ok := fastAnswer(t, nt, pkt, b.obufs[k], st); ok {
				b.outIov[k].Base = &ans[0]
				b.outIov[k].SetLen(len(ans))
				b.out[k].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
				b.out[k].Hdr.Namelen = unix.SizeofSockaddrInet4
				k++
				continue
			}
			u.slow(h, pkt, b.names[i])
		}
		for sent := 0; sent < k; {
			m, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(u.fd), uintptr(unsafe.Pointer(&b.out[sent])), uintptr(k-sent), 0, 0, 0)
			if errno == unix.EINTR {
				continue
			}
			if errno != 0 || m == 0 {
				break // drop the rest: the client will retry
			}
			sent += int(m)
		}
	}
}

// slow hands one query the fast path declined to the general handler.
func (u *rawUDP) slow(h *netHandler, pkt []byte, from unix.RawSockaddrInet4) {
	port := (*[2]byte)(unsafe.Pointer(&from.Port))
	to := netip.AddrPortFrom(netip.AddrFrom4(from.Addr), uint16(port[0])<<8|uint16(port[1]))
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil {
		if len(pkt) >= 12 && pkt[2]&0x80 == 0 {
			out := []byte{pkt[0], pkt[1], 0x80 | pkt[2]&0x79, 0x80 | dns.RcodeFormatError, 0, 0, 0, 0, 0, 0, 0, 0}
			_ = u.sendTo(out, to)
		}
		return
	}
	go h.ServeDNS(&udpWriter{u: u, to: to}, req)
}
