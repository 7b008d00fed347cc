package dns

import (
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// recorder is a dns.ResponseWriter that keeps the reply.
type recorder struct {
	tcp bool
	msg *dns.Msg
}

func (r *recorder) LocalAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: net.IPv4(10, 1, 0, 1), Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv4(10, 1, 0, 1), Port: 53}
}
func (r *recorder) RemoteAddr() net.Addr        { return &net.UDPAddr{IP: net.IPv4(10, 1, 0, 2), Port: 4000} }
func (r *recorder) WriteMsg(m *dns.Msg) error   { r.msg = m; return nil }
func (r *recorder) Write(b []byte) (int, error) { r.msg = new(dns.Msg); return len(b), r.msg.Unpack(b) }
func (r *recorder) Close() error                { return nil }
func (r *recorder) TsigStatus() error           { return nil }
func (r *recorder) TsigTimersOnly(bool)         {}
func (r *recorder) Hijack()                     {}

// testSnapshot has two networks; "web" exists on both with different
// addresses, "db" only on net2, "api" has two containers on net1.
func testSnapshot(upstreams ...string) Snapshot {
	return Snapshot{
		Networks: []NetworkView{
			{Name: "net1", Gateway: "10.1.0.1", Subnet: "10.1.0.0/24"},
			{Name: "net2", Gateway: "10.2.0.1", Subnet: "10.2.0.0/24"},
		},
		Records: []Record{
			{Network: "net1", Names: []string{"Web", "web-alias"}, IP: "10.1.0.2"},
			{Network: "net1", Names: []string{"api"}, IP: "10.1.0.3"},
			{Network: "net1", Names: []string{"api"}, IP: "10.1.0.4"},
			{Network: "net1", Names: []string{"api"}, IP: "10.1.0.5"},
			{Network: "net2", Names: []string{"web"}, IP: "10.2.0.2"},
			{Network: "net2", Names: []string{"db"}, IP: "10.2.0.3"},
		},
		Search:    []string{"example.com."},
		Upstreams: upstreams,
	}
}

func newTestHandler(t *testing.T, s Snapshot, gw string) *netHandler {
	t.Helper()
	r := &resolver{fwd: forwarder{try: 300 * time.Millisecond, total: 900 * time.Millisecond}}
	r.tbl.Store(buildTable(s, hostDefaults{}))
	return &netHandler{r: r, gw: netip.MustParseAddr(gw).As4()}
}

func query(t *testing.T, h dns.Handler, name string, qtype uint16, tcp bool) *dns.Msg {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(name, qtype)
	req.Id = 4242
	rec := &recorder{tcp: tcp}
	h.ServeDNS(rec, req)
	if rec.msg == nil {
		t.Fatalf("%s %s: no reply", name, dns.TypeToString[qtype])
	}
	if rec.msg.Id != 4242 {
		t.Fatalf("%s: reply id %d, want the query's 4242", name, rec.msg.Id)
	}
	return rec.msg
}

func aRecords(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestHandlerLocalAnswers(t *testing.T) {
	h1 := newTestHandler(t, testSnapshot(), "10.1.0.1")
	cases := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  []string
	}{
		{"container name", "web.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"alias", "web-alias.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"upper case query", "WEB.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"mixed case record and query", "wEb-AliAs.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"without trailing dot", "web", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"search suffix", "web.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"search suffix upper case", "WEB.Example.COM.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}},
		{"several containers", "api.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3", "10.1.0.4", "10.1.0.5"}},
		{"AAAA is NODATA", "web.", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"MX is NODATA", "api.", dns.TypeMX, dns.RcodeSuccess, nil},
		{"unknown address in subnet", "9.0.1.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tcp := range []bool{false, true} {
				m := query(t, h1, tc.qname, tc.qtype, tcp)
				if m.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.rcode])
				}
				got := aRecords(m)
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Fatalf("answers %v, want %v", got, tc.want)
				}
				if len(m.Answer) != len(tc.want) {
					t.Fatalf("answer section %v, want only %v", m.Answer, tc.want)
				}
				if len(m.Answer) > 0 && dns.Fqdn(m.Answer[0].Header().Name) != dns.Fqdn(tc.qname) {
					t.Fatalf("owner %q, want the asked name %q", m.Answer[0].Header().Name, dns.Fqdn(tc.qname))
				}
			}
		})
	}
}

func TestHandlerPTR(t *testing.T) {
	h1 := newTestHandler(t, testSnapshot(), "10.1.0.1")
	m := query(t, h1, "2.0.1.10.in-addr.arpa.", dns.TypePTR, false)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("PTR 10.1.0.2: %v", m)
	}
	if p := m.Answer[0].(*dns.PTR).Ptr; p != "web." {
		t.Fatalf("PTR 10.1.0.2 = %q, want web.", p)
	}
	// net2's container is not visible from net1: NXDOMAIN (inside a berth
	// subnet, never forwarded).
	m = query(t, h1, "3.0.2.10.in-addr.arpa.", dns.TypePTR, false)
	if m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
		t.Fatalf("PTR of another network's container from net1: %v", m)
	}
}

func TestHandlerShufflesSeveralAddresses(t *testing.T) {
	h1 := newTestHandler(t, testSnapshot(), "10.1.0.1")
	firsts := map[string]bool{}
	orders := map[string]bool{}
	for range 200 {
		got := aRecords(query(t, h1, "api.", dns.TypeA, false))
		if len(got) != 3 {
			t.Fatalf("api: %v, want 3 addresses", got)
		}
		firsts[got[0]] = true
		orders[strings.Join(got, ",")] = true
	}
	if len(firsts) != 3 || len(orders) < 4 {
		t.Fatalf("200 answers: %d distinct first addresses, %d orders; want every address first and several orders", len(firsts), len(orders))
	}
}

func TestHandlerNetworkIsolation(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
	})
	snap := testSnapshot(up.addr)
	h1 := newTestHandler(t, snap, "10.1.0.1")
	h2 := newTestHandler(t, snap, "10.2.0.1")
	if got := aRecords(query(t, h2, "web.", dns.TypeA, false)); strings.Join(got, ",") != "10.2.0.2" {
		t.Fatalf("web on net2 = %v, want net2's own 10.2.0.2", got)
	}
	m := query(t, h1, "db.", dns.TypeA, false)
	if m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 {
		t.Fatalf("db (net2 only) asked on net1: %v, want the upstream's NXDOMAIN", m)
	}
	if up.count.Load() != 1 {
		t.Fatalf("upstream saw %d queries, want the forwarded one", up.count.Load())
	}
	// A listener whose network just vanished forwards everything.
	h3 := newTestHandler(t, snap, "10.3.0.1")
	if m := query(t, h3, "web.", dns.TypeA, false); len(m.Answer) != 0 {
		t.Fatalf("web asked on an unknown gateway: %v", m)
	}
}
