package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"

	"github.com/berth/berth/internal/testutil"
)

// exchangeOn sends req over c (a UDP or TCP connection made inside a
// netns) and returns the reply with the same id.
func exchangeOn(c net.Conn, name string, qtype uint16) (*dns.Msg, error) {
	co := &dns.Conn{Conn: c}
	req := new(dns.Msg)
	req.SetQuestion(name, qtype)
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if err := co.WriteMsg(req); err != nil {
		return nil, err
	}
	for {
		in, err := co.ReadMsg()
		if err != nil {
			return nil, err
		}
		if in.Id == req.Id { // a late reply to an earlier query is skipped
			return in, nil
		}
	}
}

func sortedAnswers(m *dns.Msg) string {
	var out []string
	for _, rr := range m.Answer {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A.String())
		case *dns.PTR:
			out = append(out, r.Ptr)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// outsideUpstream is a fake upstream on 127.0.0.1: outside.test has an
// address, everything else is NXDOMAIN.
func outsideUpstream(t *testing.T) *upstream {
	return fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "outside.test." && r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(198, 51, 100, 77)})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
}

func TestIntegrationServeOnBridge(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	n1, n2 := newTestNet(t), newTestNet(t)
	up := outsideUpstream(t)
	dir := filepath.Join(testutil.TempRoot(t), "run", "dns")
	snap := Snapshot{
		Networks:  []NetworkView{n1.netView("one")},
		Records:   []Record{{Network: "one", Names: []string{"web", "www"}, IP: n1.ClientIP}},
		Upstreams: []string{up.addr},
	}
	if err := WriteSnapshot(dir, snap); err != nil {
		t.Fatal(err)
	}
	runServer(t, dir, serveOptions{ResolvConf: "/nonexistent"})
	gw1 := net.JoinHostPort(n1.Gateway, "53")

	t.Run("answers in the netns over udp and tcp", func(t *testing.T) {
		for _, network := range []string{"udp", "tcp"} {
			c := n1.dialIn(t, network, gw1)
			for _, q := range []struct {
				name  string
				qtype uint16
				rcode int
				want  string
			}{
				{"web.", dns.TypeA, dns.RcodeSuccess, n1.ClientIP},
				{"WWW.", dns.TypeA, dns.RcodeSuccess, n1.ClientIP},
				{"web.", dns.TypeAAAA, dns.RcodeSuccess, ""},
				{reverse(n1.ClientIP), dns.TypePTR, dns.RcodeSuccess, "web."},
				{"outside.test.", dns.TypeA, dns.RcodeSuccess, "198.51.100.77"},
				{"nowhere.test.", dns.TypeA, dns.RcodeNameError, ""},
			} {
				in, err := exchangeOn(c, q.name, q.qtype)
				if err != nil {
					t.Fatalf("%s %s %s: %v", network, q.name, dns.TypeToString[q.qtype], err)
				}
				if in.Rcode != q.rcode || sortedAnswers(in) != q.want {
					t.Fatalf("%s %s %s: %s %q, want %s %q", network, q.name, dns.TypeToString[q.qtype],
						dns.RcodeToString[in.Rcode], sortedAnswers(in), dns.RcodeToString[q.rcode], q.want)
				}
			}
		}
	})

	t.Run("reloads and a new network under load", func(t *testing.T) {
		before := socketInodes(t, n1.Gateway, 53)
		if len(before) < 2 {
			t.Fatalf("sockets on %s: %v", gw1, before)
		}
		c := n1.dialIn(t, "udp", gw1)
		var stop atomic.Bool
		var queries, failures atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				in, err := exchangeOn(c, "web.", dns.TypeA)
				queries.Add(1)
				if err != nil || sortedAnswers(in) != n1.ClientIP {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(in, err))
				}
			}
		}()
		for i := range 100 {
			err := Update(context.Background(), dir, func(s *Snapshot) error {
				s.Records = append(s.Records, Record{Network: "one", Names: []string{fmt.Sprint("extra", i)}, IP: n1.ClientIP})
				if i == 50 {
					s.Networks = append(s.Networks, n2.netView("two"))
					s.Records = append(s.Records, Record{Network: "two", Names: []string{"db"}, IP: n2.ClientIP})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond)
		}
		if err := waitLoaded(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		// The new network answers its own names, and only there.
		c2 := n2.dialIn(t, "udp", net.JoinHostPort(n2.Gateway, "53"))
		if in, err := exchangeOn(c2, "db.", dns.TypeA); err != nil || sortedAnswers(in) != n2.ClientIP {
			t.Fatalf("db on the second network: %v %v", in, err)
		}
		if in, err := exchangeOn(c2, "web.", dns.TypeA); err != nil || in.Rcode != dns.RcodeNameError {
			t.Fatalf("web (first network) asked on the second: %v %v, want NXDOMAIN", in, err)
		}
		c1 := n1.dialIn(t, "tcp", gw1)
		if in, err := exchangeOn(c1, "db.", dns.TypeA); err != nil || in.Rcode != dns.RcodeNameError {
			t.Fatalf("db (second network) asked on the first: %v %v, want NXDOMAIN", in, err)
		}
		stop.Store(true)
		wg.Wait()
		if failures.Load() != 0 || queries.Load() < 100 {
			t.Fatalf("%d of %d queries failed during 100 reloads; first: %v", failures.Load(), queries.Load(), firstErr.Load())
		}
		if after := socketInodes(t, n1.Gateway, 53); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Fatalf("first network's sockets re-bound: %v -> %v", before, after)
		}
	})
}

func TestIntegrationEnsureRestartsKilledServer(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	n1 := newTestNet(t)
	up := outsideUpstream(t)
	dir := filepath.Join(testutil.TempRoot(t), "run", "dns")
	err := WriteSnapshot(dir, Snapshot{
		Networks:  []NetworkView{n1.netView("one")},
		Records:   []Record{{Network: "one", Names: []string{"web"}, IP: n1.ClientIP}},
		Upstreams: []string{up.addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{os.Args[0], serverArg, dir}
	t.Cleanup(func() { Stop(context.Background(), dir) })
	gw := net.JoinHostPort(n1.Gateway, "53")
	resolves := func(t *testing.T, name, want string) {
		t.Helper()
		in, err := exchangeOn(n1.dialIn(t, "udp", gw), name, dns.TypeA)
		if err != nil || sortedAnswers(in) != want {
			t.Fatalf("%s: %v %v, want %s", name, in, err, want)
		}
	}

	// Concurrent Ensure calls start exactly one server.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = Ensure(context.Background(), dir, argv) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	pid1, err := readPid(dir)
	if err != nil {
		t.Fatal(err)
	}
	resolves(t, "web.", n1.ClientIP)

	// A record written before Ensure resolves once Ensure returns.
	if err := Update(context.Background(), dir, func(s *Snapshot) error {
		s.Records = append(s.Records, Record{Network: "one", Names: []string{"late"}, IP: n1.ClientIP})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(context.Background(), dir, argv); err != nil {
		t.Fatal(err)
	}
	resolves(t, "late.", n1.ClientIP)

	if err := syscall.Kill(pid1, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); running(dir); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("killed server still holds the lock")
		}
	}
	if err := Ensure(context.Background(), dir, argv); err != nil {
		t.Fatalf("Ensure after SIGKILL: %v", err)
	}
	pid2, err := readPid(dir)
	if err != nil || pid2 == pid1 {
		t.Fatalf("server pid after restart %d (%v), killed one was %d", pid2, err, pid1)
	}
	resolves(t, "web.", n1.ClientIP)
	resolves(t, "outside.test.", "198.51.100.77")

	// Networks remain: StopIfIdle leaves the server alone.
	if idle, err := StopIfIdle(context.Background(), dir); err != nil || idle || !running(dir) {
		t.Fatalf("StopIfIdle with a network: idle=%v err=%v running=%v", idle, err, running(dir))
	}
	if err := WriteSnapshot(dir, Snapshot{}); err != nil {
		t.Fatal(err)
	}
	if idle, err := StopIfIdle(context.Background(), dir); err != nil || !idle {
		t.Fatalf("StopIfIdle without networks: idle=%v err=%v", idle, err)
	}
	if running(dir) {
		t.Fatal("server still running after StopIfIdle")
	}
	if err := Stop(context.Background(), dir); err != nil {
		t.Fatalf("Stop without a server: %v", err)
	}
	if left := socketInodes(t, n1.Gateway, 53); len(left) != 0 {
		t.Fatalf("sockets of the stopped server remain: %v", left)
	}
}

// reverse returns the in-addr.arpa name of an IPv4 address.
func reverse(ip string) string {
	n, _ := dns.ReverseAddr(ip)
	return n
}

func TestIntegrationServerLetsGoOfDeletedBridge(t *testing.T) {
	testutil.RequiresRoot(t)
	t.Parallel()
	cases := []struct {
		name        string
		namedBridge bool // NetworkView.Bridge set
		takeOver    bool // another bridge gets the address right away
	}{
		{"named bridge deleted", true, false},
		{"named bridge replaced", true, true},
		{"unnamed bridge deleted", false, false},
		{"unnamed bridge replaced", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testLetGoOfBridge(t, tc.namedBridge, tc.takeOver) })
	}
}

func testLetGoOfBridge(t *testing.T, namedBridge, takeOver bool) {
	n1 := newTestNet(t)
	dir := filepath.Join(testutil.TempRoot(t), "run", "dns")
	nv := n1.netView("one")
	if namedBridge {
		nv.Bridge = n1.Bridge
	}
	err := WriteSnapshot(dir, Snapshot{
		Networks:  []NetworkView{nv},
		Records:   []Record{{Network: "one", Names: []string{"web"}, IP: n1.ClientIP}},
		Upstreams: []string{"127.0.0.1:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := runServer(t, dir, serveOptions{IdleGrace: 500 * time.Millisecond, Poll: 100 * time.Millisecond, ResolvConf: "/nonexistent"})
	in, err := exchangeOn(n1.dialIn(t, "udp", net.JoinHostPort(n1.Gateway, "53")), "web.", dns.TypeA)
	if err != nil || sortedAnswers(in) != n1.ClientIP {
		t.Fatalf("web before the bridge went away: %v %v", in, err)
	}
	// The network is torn down without telling DNS (a crashed CLI) and
	// another root's new bridge gets the same address at once: the server
	// lets go of the address, and with nothing left, exits.
	br, err := netlink.LinkByName(n1.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkDel(br); err != nil {
		t.Fatal(err)
	}
	if takeOver {
		other := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "bdx" + randHex(t, 3)}}
		if err := netlink.LinkAdd(other); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netlink.LinkDel(other) })
		mustAddr(t, other, n1.Gateway+"/24")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server still running 15 s after its only bridge was deleted")
	}
	if left := socketInodes(t, n1.Gateway, 53); len(left) != 0 {
		t.Fatalf("sockets left on %s: %v", n1.Gateway, left)
	}
}
