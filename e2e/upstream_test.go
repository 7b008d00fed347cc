package e2e

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The fake upstream DNS server every berth process of this test run
// forwards to (BERTH_DNS_UPSTREAM), so no test query ever leaves the
// machine. It answers upstreamName with upstreamIP (a documentation
// address: it is only ever an answer, never a destination), drops queries
// for silentName (a dead upstream), and refuses everything else.
const (
	upstreamName = "upstream.berth.test."
	upstreamIP   = "192.0.2.10"
	silentName   = "silent.berth.test."
)

// startFakeUpstream starts the server on loopback, points
// BERTH_DNS_UPSTREAM at it and returns a function that stops it.
func startFakeUpstream() (stop func(), err error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(fakeUpstream)}
	go srv.ActivateAndServe()
	os.Setenv("BERTH_DNS_UPSTREAM", pc.LocalAddr().String())
	return func() { srv.Shutdown() }, nil
}

func fakeUpstream(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	name := strings.ToLower(q.Question[0].Name)
	switch {
	case name == silentName:
		return // never answer
	case name == upstreamName && q.Question[0].Qtype == dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
			A:   net.ParseIP(upstreamIP)})
	case name == upstreamName:
	default:
		m.Rcode = dns.RcodeRefused
	}
	w.WriteMsg(m)
}

// Issue 3, test 4: a name berth does not know is answered by the upstream
// (the fake one here); a dead upstream gives SERVFAIL within a few seconds.
func TestDNSForwarding(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "fwd")
	out := e.must("container", "run", "--rm", "--network", "fwd", "busybox", "nslookup", "-type=a", strings.TrimSuffix(upstreamName, "."))
	if !strings.Contains(out, upstreamIP) {
		t.Errorf("forwarded name: got %q, want the fake upstream's answer %s", out, upstreamIP)
	}
	start := time.Now()
	r := e.run("container", "run", "--rm", "--network", "fwd", "busybox", "nslookup", "-type=a", strings.TrimSuffix(silentName, "."))
	took := time.Since(start)
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "SERVFAIL") {
		t.Errorf("dead upstream: want SERVFAIL, got %s", r)
	}
	// Behaviour, not performance: a dead upstream must not hang the client
	// (nslookup alone would wait about 15 s for a server that never answers).
	if took > 12*time.Second {
		t.Errorf("dead upstream took %v to fail, want a quick SERVFAIL", took)
	}
}
