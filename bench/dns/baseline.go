package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// serveBaseline runs the way Docker's embedded resolver is built: a plain
// miekg/dns UDP server (a goroutine per query) answering A records from a
// map. It is the reference the berth server is compared with under the
// same load (-compare).
func serveBaseline(addr, subnet string, names int) error {
	records := map[string]net.IP{}
	for i := range names {
		records[fmt.Sprintf("svc-%02d.", i)] = net.ParseIP(fmt.Sprintf("%s.%d", subnet, 10+i))
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if ip, ok := records[strings.ToLower(r.Question[0].Name)]; ok && r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 600}, A: ip})
		}
		w.WriteMsg(m)
	})
	return dns.ListenAndServe(addr, "udp", h)
}

// startBaseline re-executes this program as the baseline server and waits
// until it answers.
func startBaseline(gw, subnet string, names int) (stop func(), pid int, err error) {
	cmd := exec.Command(os.Args[0], "-serve-baseline", gw+":53", subnet, fmt.Sprint(names))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("svc-00.", dns.TypeA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if in, _, err := c.Exchange(q, gw+":53"); err == nil && len(in.Answer) == 1 {
			return stop, cmd.Process.Pid, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, 0, fmt.Errorf("baseline server on %s:53 did not answer", gw)
}
