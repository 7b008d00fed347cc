// Command dnsbench measures berth's DNS server with dnsperf (root): it
// makes a throwaway bridge with a netns plugged into it, writes a snapshot
// with 50 names on that network, starts the server through dns.Ensure
// (berth's `__dns` when -berth is given, else this program re-executed as
// the server), runs dnsperf from inside the netns against gateway:53 for
// -l seconds, -runs times, and prints queries per second and lost queries
// with the median. Target: >= 60k qps, 0 lost. Nothing leaves the host:
// the only traffic is between the netns and the bridge's address.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/dns"
)

type options struct {
	berth   string
	runs    int
	seconds int
	names   int
	clients int
	threads int
	queue   int
	subnet  string
	compare bool
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		if p := os.Getenv("DNSBENCH_CPUPROFILE"); p != "" { // for tuning the server
			if f, err := os.Create(p); err == nil {
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		err := dns.Serve(ctx, os.Args[2])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dnsbench server:", err)
		}
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "-serve-baseline" {
		n, _ := strconv.Atoi(os.Args[4])
		if err := serveBaseline(os.Args[2], os.Args[3], n); err != nil {
			fmt.Fprintln(os.Stderr, "dnsbench baseline:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.berth, "berth", os.Getenv("BERTH_BIN"), "berth binary to run as `__dns` (default: this program as the server)")
	flag.IntVar(&o.runs, "runs", 3, "dnsperf runs; the median is reported")
	flag.IntVar(&o.seconds, "l", 10, "seconds per run")
	flag.IntVar(&o.names, "names", 50, "names on the network")
	flag.IntVar(&o.clients, "c", 1, "dnsperf clients (-c; dnsperf default 1)")
	flag.IntVar(&o.threads, "T", 1, "dnsperf threads (-T; dnsperf default 1)")
	flag.IntVar(&o.queue, "q", 100, "dnsperf outstanding queries (-q; dnsperf default 100)")
	flag.BoolVar(&o.compare, "compare", false, "also run a plain miekg/dns server (how Docker's embedded DNS is built) the same way, alternating runs")
	flag.StringVar(&o.subnet, "subnet", "10.231.77", "first three octets of the /24 to use (must be unused)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "dnsbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (bridge, netns, port 53)")
	}
	if out, _ := exec.Command("ip", "-4", "route", "show", "match", o.subnet+".1").Output(); strings.Contains(string(out), o.subnet+".0/24") {
		return fmt.Errorf("subnet %s.0/24 is in use: pick another with -subnet", o.subnet)
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	root, err := os.MkdirTemp("/tmp", "bdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "run", "dns")
	gw, client := o.subnet+".1", o.subnet+".2"
	netns, br, veth := "bdb-"+id, "bdb"+id, "bdv"+id
	defer cleanup(netns, br, veth)
	if err := setup(netns, br, veth, gw, client); err != nil {
		return err
	}

	snap := dns.Snapshot{
		Networks:  []dns.NetworkView{{Name: "bench", Gateway: gw, Subnet: o.subnet + ".0/24"}},
		Upstreams: []string{"127.0.0.1:1"}, // never used: every query is a berth name
	}
	var queries strings.Builder
	for i := range o.names {
		name := fmt.Sprintf("svc-%02d", i)
		snap.Records = append(snap.Records, dns.Record{Network: "bench", Names: []string{name}, IP: fmt.Sprintf("%s.%d", o.subnet, 10+i)})
		fmt.Fprintf(&queries, "%s A\n", name)
	}
	if err := dns.WriteSnapshot(dir, snap); err != nil {
		return err
	}
	qfile := filepath.Join(root, "queries.txt")
	if err := os.WriteFile(qfile, []byte(queries.String()), 0o644); err != nil {
		return err
	}
	argv := []string{os.Args[0], "-serve", dir}
	server := "dnsbench (in-process dns.Serve)"
	if o.berth != "" {
		argv = []string{o.berth, "--root", root, "__dns"}
		server = o.berth + " __dns"
	}
	ctx := context.Background()
	if err := dns.Ensure(ctx, dir, argv); err != nil {
		return err
	}
	defer dns.Stop(ctx, dir)
	fmt.Printf("server: %s; %d names; dnsperf -c %d -T %d -q %d -l %d from netns %s -> %s:53\n",
		server, o.names, o.clients, o.threads, o.queue, o.seconds, netns, gw)
	var qps []float64
	var lost []int
	var bqps []float64
	for i := range o.runs {
		q, l, err := measure("berth", i, serverPid(dir), netns, gw, qfile, o)
		if err != nil {
			return err
		}
		qps, lost = append(qps, q), append(lost, l)
		if o.compare {
			if q, err = measureBaseline(i, netns, gw, qfile, o, ctx, dir, argv); err != nil {
				return err
			}
			bqps = append(bqps, q)
		}
	}
	sort.Float64s(qps)
	sort.Ints(lost)
	fmt.Printf("dns: median %.0f qps, median lost %d, worst lost %d (target >= 60000 qps, 0 lost)\n",
		qps[len(qps)/2], lost[len(lost)/2], lost[len(lost)-1])
	if o.compare {
		sort.Float64s(bqps)
		fmt.Printf("baseline (plain miekg/dns server): median %.0f qps; berth/baseline %.2f\n",
			bqps[len(bqps)/2], qps[len(qps)/2]/bqps[len(bqps)/2])
	}
	return nil
}

// measure runs dnsperf once and prints the figures of one run.
func measure(label string, i, pid int, netns, gw, qfile string, o options) (float64, int, error) {
	cpu0 := cpuTicks(pid)
	q, l, client, err := dnsperf(netns, gw, qfile, o)
	if err != nil {
		return 0, 0, err
	}
	// CPU per query depends less on how busy the machine is than qps:
	// with two cores, qps cannot exceed 2 s / (server + client) per query.
	n := q * float64(o.seconds)
	us := float64(cpuTicks(pid)-cpu0) * 1e6 / 100 / n
	fmt.Printf("%s run %d: %.0f qps, %d lost; cpu per query: server %.1f us, dnsperf %.1f us\n",
		label, i+1, q, l, us, float64(client.Microseconds())/n)
	return q, l, nil
}

// measureBaseline swaps the berth server for the baseline for one run,
// then brings berth's back.
func measureBaseline(i int, netns, gw, qfile string, o options, ctx context.Context, dir string, argv []string) (float64, error) {
	if err := dns.Stop(ctx, dir); err != nil {
		return 0, err
	}
	stop, pid, err := startBaseline(gw, o.subnet, o.names)
	if err != nil {
		return 0, err
	}
	q, _, err := measure("baseline", i, pid, netns, gw, qfile, o)
	stop()
	if err != nil {
		return 0, err
	}
	return q, dns.Ensure(ctx, dir, argv)
}

var (
	reQPS  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	reLost = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
)

// dnsperf runs one dnsperf and returns queries per second, lost queries
// and the CPU time dnsperf itself used.
func dnsperf(netns, gw, qfile string, o options) (float64, int, time.Duration, error) {
	cmd := exec.Command("ip", "netns", "exec", netns, "dnsperf", "-s", gw, "-d", qfile,
		"-l", strconv.Itoa(o.seconds), "-c", strconv.Itoa(o.clients), "-T", strconv.Itoa(o.threads),
		"-q", strconv.Itoa(o.queue))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("dnsperf: %v\n%s", err, out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	q, l := reQPS.FindSubmatch(out), reLost.FindSubmatch(out)
	if q == nil || l == nil {
		return 0, 0, 0, fmt.Errorf("dnsperf output not understood:\n%s", out)
	}
	qps, _ := strconv.ParseFloat(string(q[1]), 64)
	lost, _ := strconv.Atoi(string(l[1]))
	return qps, lost, cpu, nil
}

func setup(netns, br, veth, gw, client string) error {
	peer := "bdp" + strings.TrimPrefix(br, "bdb")
	for _, args := range [][]string{
		{"netns", "add", netns},
		{"link", "add", br, "type", "bridge"},
		{"addr", "add", gw + "/24", "dev", br},
		{"link", "set", br, "up"},
		{"link", "add", veth, "type", "veth", "peer", "name", peer},
		{"link", "set", veth, "master", br, "up"},
		{"link", "set", peer, "netns", netns},
		{"-n", netns, "link", "set", "lo", "up"},
		{"-n", netns, "addr", "add", client + "/24", "dev", peer},
		{"-n", netns, "link", "set", peer, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func cleanup(netns, br, veth string) {
	exec.Command("ip", "link", "del", veth).Run()
	exec.Command("ip", "link", "del", br).Run()
	exec.Command("ip", "netns", "del", netns).Run()
}

func serverPid(dir string) int {
	data, _ := os.ReadFile(filepath.Join(dir, "dns.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}
