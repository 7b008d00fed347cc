package dns

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream is a fake resolver on 127.0.0.1 (UDP and TCP on one port).
type upstream struct {
	addr     string
	count    atomic.Int64
	tcpCount atomic.Int64
}

func fakeUpstream(t *testing.T, fn dns.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	var pc net.PacketConn
	var l net.Listener
	var err error
	for range 20 { // find a port free for both UDP and TCP
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.count.Add(1)
		if w.LocalAddr().Network() == "tcp" {
			u.tcpCount.Add(1)
		}
		fn(w, r)
	})
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return u
}

// silentUDP is a bound socket that never answers: a dead upstream.
func silentUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestForwardUnknownName(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "outside.test." {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.IPv4(192, 0, 2, 7)})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	h1 := newTestHandler(t, testSnapshot(up.addr), "10.1.0.1")
	for _, tcp := range []bool{false, true} {
		m := query(t, h1, "outside.test.", dns.TypeA, tcp)
		if got := aRecords(m); strings.Join(got, ",") != "192.0.2.7" || m.Rcode != dns.RcodeSuccess {
			t.Fatalf("tcp=%v outside.test: %v", tcp, m)
		}
		m = query(t, h1, "nowhere.test.", dns.TypeA, tcp)
		if m.Rcode != dns.RcodeNameError {
			t.Fatalf("tcp=%v nowhere.test: rcode %s, want the upstream's NXDOMAIN", tcp, dns.RcodeToString[m.Rcode])
		}
	}
	if up.tcpCount.Load() != 2 {
		t.Fatalf("upstream saw %d TCP queries, want 2 (TCP clients are forwarded over TCP)", up.tcpCount.Load())
	}
}

func TestForwardRetriesTruncatedOverTCP(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.LocalAddr().Network() == "udp" {
			m.Truncated = true
		} else {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 30}, Txt: []string{"full"}})
		}
		w.WriteMsg(m)
	})
	h1 := newTestHandler(t, testSnapshot(up.addr), "10.1.0.1")
	m := query(t, h1, "big.test.", dns.TypeTXT, false)
	if len(m.Answer) != 1 || m.Truncated {
		t.Fatalf("big.test: %v, want the full TCP answer", m)
	}
	if up.tcpCount.Load() != 1 {
		t.Fatalf("upstream TCP queries %d, want 1", up.tcpCount.Load())
	}
}

func TestForwardDeadUpstreamServfail(t *testing.T) {
	cases := []struct {
		name      string
		upstreams func(t *testing.T) []string
	}{
		{"silent", func(t *testing.T) []string { return []string{silentUDP(t)} }},
		{"refused port", func(t *testing.T) []string {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0") // a port nobody listens on
			if err != nil {
				t.Fatal(err)
			}
			pc.Close()
			return []string{pc.LocalAddr().String()}
		}},
		{"none", func(t *testing.T) []string { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, testSnapshot(tc.upstreams(t)...), "10.1.0.1")
			start := time.Now()
			m := query(t, h, "outside.test.", dns.TypeA, false)
			if m.Rcode != dns.RcodeServerFailure {
				t.Fatalf("rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
			}
			// The handler's total budget is 0.9 s in this test; a hang
			// would be far longer (not a timing assertion on speed).
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("SERVFAIL after %s: the forwarder must give up", d)
			}
		})
	}
}

func TestForwardFallsBackToNextUpstream(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(192, 0, 2, 9)})
		w.WriteMsg(m)
	})
	h := newTestHandler(t, testSnapshot(silentUDP(t), up.addr), "10.1.0.1")
	if got := aRecords(query(t, h, "x.test.", dns.TypeA, false)); strings.Join(got, ",") != "192.0.2.9" {
		t.Fatalf("x.test: %v, want the second upstream's answer", got)
	}
}

func TestHostResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.1:5353\nsearch a.test b.test\noptions edns0\n"), 0o644)
	d := hostResolvConf(p)
	if strings.Join(d.upstreams, ",") != "127.0.0.53:53,192.0.2.1:5353" || strings.Join(d.search, ",") != "a.test,b.test" {
		t.Fatalf("got %+v", d)
	}
	t.Setenv(upstreamEnv, "127.0.0.5, 127.0.0.6:5300")
	d = serverDefaults(p)
	if strings.Join(d.upstreams, ",") != "127.0.0.5:53,127.0.0.6:5300" {
		t.Fatalf("BERTH_DNS_UPSTREAM not preferred: %+v", d)
	}
	t.Setenv(upstreamEnv, "bogus")
	if _, err := UpstreamsFromEnv(); err == nil {
		t.Fatal("bogus upstream accepted")
	}
}

func TestForwardSheddingWhenSaturated(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		w.WriteMsg(m)
	})
	h := newTestHandler(t, testSnapshot(up.addr), "10.1.0.1")
	h.r.fwd.inflight.Store(maxInflight)
	if m := query(t, h, "x.test.", dns.TypeA, false); m.Rcode != dns.RcodeServerFailure {
		t.Fatalf("saturated forwarder: rcode %s, want SERVFAIL", dns.RcodeToString[m.Rcode])
	}
	if up.count.Load() != 0 {
		t.Fatal("saturated forwarder still queried the upstream")
	}
	h.r.fwd.inflight.Store(0)
	if m := query(t, h, "x.test.", dns.TypeA, false); m.Rcode != dns.RcodeSuccess || up.count.Load() != 1 {
		t.Fatalf("after saturation: rcode %s, upstream queries %d", dns.RcodeToString[m.Rcode], up.count.Load())
	}
}
