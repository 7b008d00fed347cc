package portproxy

import (
	"net"
	"sync"
	"time"
)

// udpFlow is one client's "connection" through the UDP proxy.
type udpFlow struct {
	up *net.UDPConn // connected to the container
}

func (p *Proxy) serveUDP(l *net.UDPConn, target *net.UDPAddr) {
	defer p.wg.Done()
	var mu sync.Mutex
	flows := map[string]*udpFlow{}
	buf := make([]byte, 65535)
	for {
		n, from, err := l.ReadFromUDP(buf)
		if err != nil {
			if p.isClosed() {
				return
			}
			continue
		}
		key := from.String()
		mu.Lock()
		f := flows[key]
		if f == nil {
			up, err := net.DialUDP("udp", nil, target)
			if err != nil || !p.track(up) {
				mu.Unlock()
				if up != nil {
					up.Close()
				}
				continue
			}
			f = &udpFlow{up: up}
			flows[key] = f
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.udpReplies(l, f, from)
				mu.Lock()
				delete(flows, key)
				mu.Unlock()
				p.untrack(f.up)
			}()
		}
		mu.Unlock()
		f.up.Write(buf[:n])
	}
}

// udpReplies copies the container's replies back to the client until the
// flow is idle for udpIdle or the proxy closes.
func (p *Proxy) udpReplies(l *net.UDPConn, f *udpFlow, client *net.UDPAddr) {
	buf := make([]byte, 65535)
	for {
		f.up.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := f.up.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && !ne.Timeout() && !p.isClosed() {
				continue // e.g. ECONNREFUSED from an ICMP error: keep the flow
			}
			return
		}
		if _, err := l.WriteToUDP(buf[:n], client); err != nil && p.isClosed() {
			return
		}
	}
}
