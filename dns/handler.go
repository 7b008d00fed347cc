package dns

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// resolver is the handler chain shared by every listener: berth's records
// first, then the upstream forwarder.
type resolver struct {
	tbl atomic.Pointer[table]
	fwd forwarder
}

// netHandler answers queries arriving on one network's gateway address.
type netHandler struct {
	r  *resolver
	gw [4]byte
}

// ServeDNS implements dns.Handler.
func (h *netHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	t := h.r.tbl.Load()
	if t == nil {
		t = &table{}
	}
	if m := answerLocal(t, t.byGateway[h.gw], req); m != nil {
		writeReply(w, req, m)
		return
	}
	h.r.fwd.forward(context.Background(), w, req, t.upstreams)
}

// answerLocal returns berth's own answer to req on network nt, or nil when
// the query must be forwarded.
func answerLocal(t *table, nt *netTable, req *dns.Msg) *dns.Msg {
	if req.Response || req.Opcode != dns.OpcodeQuery {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		return m
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return nil
	}
	name := canonicalName(q.Name)
	if q.Qtype == dns.TypePTR {
		return answerPTR(t, nt, req, name)
	}
	e := t.lookup(nt, name)
	if e == nil {
		return nil
	}
	m := newReply(req)
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		order := rand.Perm(len(e.ips))
		for _, i := range order {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: defaultTTL},
				A:   e.ips[i][:],
			})
		}
	}
	// Any other type for a known name: NODATA (NOERROR, no answer).
	return m
}

// answerPTR answers reverse lookups of the network's container addresses;
// other addresses inside berth subnets get NXDOMAIN, the rest is forwarded.
func answerPTR(t *table, nt *netTable, req *dns.Msg, name string) *dns.Msg {
	a, ok := reverseIPv4(name)
	if !ok {
		return nil
	}
	if nt != nil {
		if target, ok := nt.ptr[a]; ok {
			m := newReply(req)
			m.Answer = append(m.Answer, &dns.PTR{
				Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: defaultTTL},
				Ptr: target,
			})
			return m
		}
	}
	if t.inBerthSubnet(a) {
		m := newReply(req)
		m.Rcode = dns.RcodeNameError
		return m
	}
	return nil
}

// newReply starts an authoritative answer to req.
func newReply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	return m
}

// writeReply sends m, echoing EDNS0 and truncating to what a UDP client
// can take.
func writeReply(w dns.ResponseWriter, req, m *dns.Msg) {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		if s := int(opt.UDPSize()); s > size {
			size = s
		}
		if m.IsEdns0() == nil {
			m.SetEdns0(uint16(min(size, 4096)), false)
		}
	}
	if isUDP(w) {
		m.Truncate(size)
	} else {
		m.Truncate(dns.MaxMsgSize)
	}
	m.Id = req.Id
	_ = w.WriteMsg(m)
}

func isUDP(w dns.ResponseWriter) bool {
	a := w.LocalAddr()
	return a == nil || strings.HasPrefix(a.Network(), "udp")
}

// reverseIPv4 parses "d.c.b.a.in-addr.arpa" (canonical form).
func reverseIPv4(name string) ([4]byte, bool) {
	var out [4]byte
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return out, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return out, false
	}
	ip, err := netip.ParseAddr(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0])
	if err != nil || !ip.Is4() {
		return out, false
	}
	return ip.As4(), true
}
