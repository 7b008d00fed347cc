package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/berth/berth/internal/errdefs"
)

// freePort returns a port that was just free for UDP and TCP on addr.
func freePort(t *testing.T, addr string) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", addr+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", fmt.Sprintf("%s:%d", addr, port))
		pc.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// runServer starts serve in the background and stops it at cleanup. The
// returned channel yields serve's result.
func runServer(t *testing.T, dir string, opt serveOptions) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- serve(ctx, dir, opt)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	// Ready once the pid file exists.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := readPid(dir); err == nil {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ask sends one query to server (ip:port) and returns the sorted A
// records, or an error.
func ask(server, name, network string) ([]string, *dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	req := new(dns.Msg)
	req.SetQuestion(name, dns.TypeA)
	in, _, err := c.Exchange(req, server)
	if err != nil {
		return nil, nil, err
	}
	if in.Id != req.Id {
		return nil, nil, fmt.Errorf("reply id %d, query id %d", in.Id, req.Id)
	}
	got := aRecords(in)
	sort.Strings(got)
	return got, in, nil
}

// socketInodes lists the inodes of this process's sockets bound to
// ip:port (from /proc/net/udp and tcp): a re-bind changes them.
func socketInodes(t *testing.T, ip string, port int) []string {
	t.Helper()
	a := net.ParseIP(ip).To4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], port)
	var out []string
	for _, f := range []string{"/proc/net/udp", "/proc/net/tcp"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 9 && fields[1] == local && (f == "/proc/net/udp" || fields[3] == "0A") {
				out = append(out, f+":"+fields[9])
			}
		}
	}
	sort.Strings(out)
	return out
}

func loopSnapshot(gws ...string) Snapshot {
	var s Snapshot
	for i, gw := range gws {
		name := fmt.Sprint("lo", i)
		s.Networks = append(s.Networks, NetworkView{Name: name, Gateway: gw})
		s.Records = append(s.Records, Record{Network: name, Names: []string{"web"}, IP: fmt.Sprintf("10.77.%d.2", i)})
	}
	return s
}

func TestServeReloadNeverRebinds(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	if err := WriteSnapshot(dir, loopSnapshot("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	runServer(t, dir, serveOptions{Port: port, UDPSockets: 2, ResolvConf: "/nonexistent"})
	server := fmt.Sprintf("127.0.0.1:%d", port)
	before := socketInodes(t, "127.0.0.1", port)
	if len(before) != 3 {
		t.Fatalf("sockets on %s: %v, want 2 UDP and 1 TCP", server, before)
	}

	var stop atomic.Bool
	var queries, failures atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for _, network := range []string{"udp", "udp", "tcp"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got, _, err := ask(server, "web.", network)
				queries.Add(1)
				if err != nil || strings.Join(got, ",") != "10.77.0.2" {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v %v", network, got, err))
				}
			}
		}()
	}
	for i := range 100 {
		err := Update(context.Background(), dir, func(s *Snapshot) error {
			s.Records = append(s.Records, Record{Network: "lo0", Names: []string{fmt.Sprint("c", i)}, IP: fmt.Sprintf("10.77.0.%d", i+3)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := waitLoaded(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d queries failed during 100 reloads; first: %v", failures.Load(), queries.Load(), firstErr.Load())
	}
	if got, _, err := ask(server, "c99.", "udp"); err != nil || strings.Join(got, ",") != "10.77.0.102" {
		t.Fatalf("last added name c99: %v %v", got, err)
	}
	if after := socketInodes(t, "127.0.0.1", port); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("sockets re-bound: before %v after %v", before, after)
	}
}

func TestServeAddsAndRemovesNetworks(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	if err := WriteSnapshot(dir, loopSnapshot("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	runServer(t, dir, serveOptions{Port: port, UDPSockets: 2, ResolvConf: "/nonexistent"})
	first := socketInodes(t, "127.0.0.1", port)

	if err := WriteSnapshot(dir, loopSnapshot("127.0.0.1", "127.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := waitLoaded(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for i, gw := range []string{"127.0.0.1", "127.0.0.2"} {
		for _, network := range []string{"udp", "tcp"} {
			got, _, err := ask(fmt.Sprintf("%s:%d", gw, port), "web.", network)
			if want := fmt.Sprintf("10.77.%d.2", i); err != nil || strings.Join(got, ",") != want {
				t.Fatalf("web via %s/%s: %v %v, want %s", gw, network, got, err, want)
			}
		}
	}
	if now := socketInodes(t, "127.0.0.1", port); strings.Join(now, " ") != strings.Join(first, " ") {
		t.Fatalf("first network's sockets changed when a second was added: %v -> %v", first, now)
	}

	// Remove the first network: its sockets close, the second's stay.
	second := socketInodes(t, "127.0.0.2", port)
	s := loopSnapshot("127.0.0.1", "127.0.0.2")
	s.Networks, s.Records = s.Networks[1:], s.Records[1:]
	if err := WriteSnapshot(dir, s); err != nil {
		t.Fatal(err)
	}
	if err := waitLoaded(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if left := socketInodes(t, "127.0.0.1", port); len(left) != 0 {
		t.Fatalf("removed network still has sockets: %v", left)
	}
	if now := socketInodes(t, "127.0.0.2", port); strings.Join(now, " ") != strings.Join(second, " ") {
		t.Fatalf("second network's sockets changed: %v -> %v", second, now)
	}
	if got, _, err := ask(fmt.Sprintf("127.0.0.2:%d", port), "web.", "udp"); err != nil || len(got) != 1 {
		t.Fatalf("second network after removing the first: %v %v", got, err)
	}
}

func TestServeForwardsOverTheWire(t *testing.T) {
	up := fakeUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 9}, A: net.IPv4(192, 0, 2, 55)})
		w.WriteMsg(m)
	})
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	s := loopSnapshot("127.0.0.1")
	s.Upstreams = []string{up.addr}
	if err := WriteSnapshot(dir, s); err != nil {
		t.Fatal(err)
	}
	runServer(t, dir, serveOptions{Port: port, ResolvConf: "/nonexistent"})
	for _, network := range []string{"udp", "tcp"} {
		got, _, err := ask(fmt.Sprintf("127.0.0.1:%d", port), "elsewhere.test.", network)
		if err != nil || strings.Join(got, ",") != "192.0.2.55" {
			t.Fatalf("%s: forwarded answer %v %v", network, got, err)
		}
	}
}

func TestServeExitsWithoutNetworksAndHoldsLock(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	if err := WriteSnapshot(dir, loopSnapshot("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	done := runServer(t, dir, serveOptions{Port: port, IdleGrace: 300 * time.Millisecond, Poll: 50 * time.Millisecond, ResolvConf: "/nonexistent"})
	err := serve(context.Background(), dir, serveOptions{Port: port})
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("second server on one dir: %v, want already exists", err)
	}
	if !running(dir) {
		t.Fatal("running() = false while the server holds the lock")
	}
	if err := WriteSnapshot(dir, Snapshot{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("idle exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after the last network went away")
	}
	// The second serve above gave up waiting for the lock, but its waiter
	// (internal/lockfile) takes the lock the moment it is free and lets go
	// at once: allow it that moment.
	for i := 0; running(dir); i++ {
		if i == 100 {
			t.Fatal("lock still held 1 s after exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := readPid(dir); err == nil {
		t.Fatal("pid file left behind")
	}
	if left := socketInodes(t, "127.0.0.1", port); len(left) != 0 {
		t.Fatalf("sockets left open: %v", left)
	}
}

func TestServeStaysOffAnAddressServedByAnother(t *testing.T) {
	port := freePort(t, "127.0.0.1")
	// Another root's server already holds 127.0.0.1:port with SO_REUSEPORT,
	// which would let this server's sockets join and split the queries.
	lc := net.ListenConfig{Control: listenControl}
	other, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before := socketInodes(t, "127.0.0.1", port)

	dir := t.TempDir()
	if err := WriteSnapshot(dir, loopSnapshot("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	done := runServer(t, dir, serveOptions{Port: port, IdleGrace: 300 * time.Millisecond, Poll: 50 * time.Millisecond, ResolvConf: "/nonexistent"})
	if now := socketInodes(t, "127.0.0.1", port); strings.Join(now, " ") != strings.Join(before, " ") {
		t.Fatalf("server bound an address another process serves: %v -> %v", before, now)
	}
	// Nothing to serve: it goes away like a server without networks.
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server with no servable network still running after 10 s")
	}
}
