package dns

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func packQuery(t *testing.T, name string, qtype uint16, edns bool) []byte {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(name, qtype)
	req.Id = 777
	if edns {
		req.SetEdns0(4096, false)
	}
	b, err := req.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastPathMatchesHandler checks that the packet-level fast path gives
// the same answers as the general handler, and declines what it does not
// handle.
func TestFastPathMatchesHandler(t *testing.T) {
	snap := testSnapshot()
	var many []string
	for i := range 60 {
		many = append(many, fmt.Sprintf("10.1.1.%d", i+1))
		snap.Records = append(snap.Records, Record{Network: "net1", Names: []string{"many"}, IP: many[i]})
	}
	tbl := buildTable(snap, hostDefaults{})
	nt := tbl.byGateway[[4]byte{10, 1, 0, 1}]
	cases := []struct {
		name   string
		qname  string
		qtype  uint16
		edns   bool
		handle bool
		want   int // answers; -1 = truncated
	}{
		{"A", "web.", dns.TypeA, false, true, 1},
		{"A upper case", "WeB.", dns.TypeA, false, true, 1},
		{"A with EDNS", "web.", dns.TypeA, true, true, 1},
		{"search suffix", "web.Example.com.", dns.TypeA, false, true, 1},
		{"several", "api.", dns.TypeA, false, true, 3},
		{"AAAA NODATA", "api.", dns.TypeAAAA, false, true, 0},
		{"too many for 512 bytes", "many.", dns.TypeA, false, true, -1},
		{"many with EDNS", "many.", dns.TypeA, true, true, 60},
		{"other network's name", "db.", dns.TypeA, false, false, 0},
		{"unknown", "nothing.", dns.TypeA, false, false, 0},
		{"PTR", "2.0.1.10.in-addr.arpa.", dns.TypePTR, false, false, 0},
		{"MX", "web.", dns.TypeMX, false, false, 0},
	}
	st := newFastState()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkt := packQuery(t, tc.qname, tc.qtype, tc.edns)
			out, ok := fastAnswer(tbl, nt, pkt, make([]byte, 0, 4096), st)
			if ok != tc.handle {
				t.Fatalf("fast path handled=%v, want %v", ok, tc.handle)
			}
			if !ok {
				return
			}
			m := new(dns.Msg)
			if err := m.Unpack(out); err != nil {
				t.Fatalf("fast answer does not parse: %v", err)
			}
			if m.Id != 777 || !m.Response || !m.Authoritative || !m.RecursionDesired || m.Rcode != dns.RcodeSuccess {
				t.Fatalf("header: %v", m.MsgHdr)
			}
			if len(m.Question) != 1 || m.Question[0].Name != tc.qname || m.Question[0].Qtype != tc.qtype {
				t.Fatalf("question %v, want %s as asked", m.Question, tc.qname)
			}
			if (m.IsEdns0() != nil) != tc.edns {
				t.Fatalf("EDNS in answer = %v, want %v", m.IsEdns0() != nil, tc.edns)
			}
			if tc.want == -1 {
				if !m.Truncated || len(out) > 512 || len(m.Answer) == 0 {
					t.Fatalf("want a truncated answer under 512 bytes: TC=%v len=%d answers=%d", m.Truncated, len(out), len(m.Answer))
				}
				return
			}
			if m.Truncated || len(m.Answer) != tc.want {
				t.Fatalf("answers %d (TC=%v), want %d", len(m.Answer), m.Truncated, tc.want)
			}
			slow := query(t, &netHandler{r: resolverWith(tbl), gw: [4]byte{10, 1, 0, 1}}, tc.qname, tc.qtype, false)
			if a, b := sortedA(m), sortedA(slow); a != b && tc.want <= 3 {
				t.Fatalf("fast %s, handler %s", a, b)
			}
			for _, rr := range m.Answer {
				if rr.Header().Name != tc.qname || rr.Header().Ttl != defaultTTL {
					t.Fatalf("record %v: want owner %s ttl %d", rr, tc.qname, defaultTTL)
				}
			}
		})
	}
}

func resolverWith(t *table) *resolver {
	r := &resolver{}
	r.tbl.Store(t)
	return r
}

func sortedA(m *dns.Msg) string {
	a := aRecords(m)
	sort.Strings(a)
	return strings.Join(a, ",")
}

func TestFastPathRejectsOddPackets(t *testing.T) {
	tbl := buildTable(testSnapshot(), hostDefaults{})
	nt := tbl.byGateway[[4]byte{10, 1, 0, 1}]
	good := packQuery(t, "web.", dns.TypeA, false)
	resp := append([]byte(nil), good...)
	resp[2] |= 0x80
	two := new(dns.Msg)
	two.Question = []dns.Question{{Name: "web.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, {Name: "api.", Qtype: dns.TypeA, Qclass: dns.ClassINET}}
	twoPkt, _ := two.Pack()
	chaos := new(dns.Msg)
	chaos.Question = []dns.Question{{Name: "web.", Qtype: dns.TypeA, Qclass: dns.ClassCHAOS}}
	chaosPkt, _ := chaos.Pack()
	for name, pkt := range map[string][]byte{
		"response":     resp,
		"short":        good[:15],
		"two":          twoPkt,
		"chaos":        chaosPkt,
		"trailing":     append(append([]byte(nil), good...), 1, 2, 3),
		"dot in label": {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', '.', 'b', 0, 0, 1, 0, 1},
	} {
		if _, ok := fastAnswer(tbl, nt, pkt, nil, newFastState()); ok {
			t.Errorf("%s: fast path answered", name)
		}
	}
}

func TestFastPathDoesNotAllocate(t *testing.T) {
	tbl := buildTable(testSnapshot(), hostDefaults{})
	nt := tbl.byGateway[[4]byte{10, 1, 0, 1}]
	pkt := packQuery(t, "API.", dns.TypeA, true)
	st := newFastState()
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { fastAnswer(tbl, nt, pkt, dst, st) }); n != 0 {
		t.Fatalf("%v allocations per answer, want 0", n)
	}
}

// FuzzFastAnswer feeds arbitrary packets to the fast path: it must never
// panic, and whatever it answers must parse and carry the query's id.
func FuzzFastAnswer(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{{"web.", dns.TypeA, false}, {"API.", dns.TypeA, true}, {"web.example.com.", dns.TypeAAAA, false}, {"x.", dns.TypeMX, true}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(1232, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	tbl := buildTable(testSnapshot(), hostDefaults{})
	nt := tbl.byGateway[[4]byte{10, 1, 0, 1}]
	st := newFastState()
	dst := make([]byte, 0, 4096)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		out, ok := fastAnswer(tbl, nt, pkt, dst, st)
		if !ok {
			return
		}
		m := new(dns.Msg)
		if err := m.Unpack(out); err != nil {
			t.Fatalf("answer to %x does not parse: %v", pkt, err)
		}
		if m.Id != uint16(pkt[0])<<8|uint16(pkt[1]) || !m.Response {
			t.Fatalf("answer to %x: header %v", pkt, m.MsgHdr)
		}
	})
}
