package dns

import (
	"bufio"
	"context"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Forwarding limits: one try never waits longer than tryTimeout, a query
// never longer than totalTimeout, so a dead upstream gives SERVFAIL before
// a client's own resolver (5 s in glibc and musl) gives up.
const (
	tryTimeout   = time.Second
	totalTimeout = 2500 * time.Millisecond
)

// maxInflight bounds the forwarded queries waiting on upstreams at once;
// beyond it a query gets SERVFAIL at once instead of another goroutine.
const maxInflight = 2048

// forwarder sends queries berth cannot answer to the upstream resolvers.
type forwarder struct {
	// try and total override tryTimeout and totalTimeout in tests.
	try, total time.Duration
	inflight   atomic.Int64
}

// forward relays req to upstreams in order and writes the first usable
// answer to w, or SERVFAIL when none answers in time.
func (f *forwarder) forward(ctx context.Context, w dns.ResponseWriter, req *dns.Msg, upstreams []string) {
	total, try := f.total, f.try
	if total == 0 {
		total = totalTimeout
	}
	if try == 0 {
		try = tryTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	if f.inflight.Add(1) > maxInflight {
		upstreams = nil
	}
	defer f.inflight.Add(-1)
	network := "udp"
	if !isUDP(w) {
		network = "tcp"
	}
	var last *dns.Msg
	for _, up := range upstreams {
		in := exchange(ctx, req, up, network, try)
		if in == nil {
			continue
		}
		last = in
		if in.Rcode != dns.RcodeServerFailure && in.Rcode != dns.RcodeRefused {
			break
		}
	}
	if last == nil {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		writeReply(w, req, m)
		return
	}
	last.Id = req.Id
	writeReply(w, req, last)
}

// exchange asks one upstream, retrying over TCP when a UDP answer comes
// back truncated. It returns nil when the upstream did not answer.
func exchange(ctx context.Context, req *dns.Msg, upstream, network string, try time.Duration) *dns.Msg {
	if ctx.Err() != nil {
		return nil
	}
	c := &dns.Client{Net: network, Timeout: try}
	if network == "udp" {
		c.UDPSize = dns.DefaultMsgSize
	}
	in, _, err := c.ExchangeContext(ctx, req, upstream)
	if err != nil || in == nil {
		return nil
	}
	if in.Truncated && network == "udp" {
		if full := exchange(ctx, req, upstream, "tcp", try); full != nil {
			return full
		}
	}
	return in
}

// hostResolvConf reads the nameservers and search domains of a
// resolv.conf file; a missing file gives none.
func hostResolvConf(path string) hostDefaults {
	var d hostDefaults
	f, err := os.Open(path)
	if err != nil {
		return d
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if hp, err := normalizeUpstream(fields[1]); err == nil {
				d.upstreams = append(d.upstreams, hp)
			}
		case "search", "domain":
			d.search = fields[1:]
		}
	}
	return d
}

// UpstreamsFromEnv returns the upstream list set in BERTH_DNS_UPSTREAM
// (comma-separated "ip" or "ip:port"), for the engine to copy into
// Snapshot.Upstreams. Invalid entries make it fail with ErrInvalidArgument.
func UpstreamsFromEnv() ([]string, error) {
	return parseUpstreamList(os.Getenv(upstreamEnv))
}

func parseUpstreamList(v string) ([]string, error) {
	var out []string
	for _, u := range strings.Split(v, ",") {
		if strings.TrimSpace(u) == "" {
			continue
		}
		hp, err := normalizeUpstream(u)
		if err != nil {
			return nil, err
		}
		out = append(out, hp)
	}
	return out, nil
}

// serverDefaults are the upstreams and search domains of the server
// process: BERTH_DNS_UPSTREAM, else the host's resolv.conf.
func serverDefaults(resolvConf string) hostDefaults {
	d := hostResolvConf(resolvConf)
	if env, err := UpstreamsFromEnv(); err == nil && len(env) > 0 {
		d.upstreams = env
	}
	return d
}
