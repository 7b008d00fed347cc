package networkbench

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/network"
)

// newBenchManager is a network manager in a fresh root (removed after b).
func newBenchManager(b *testing.B) *network.Manager {
	l := layout.New(testutil.TempRoot(b))
	m, err := network.New(network.Options{Root: l.Networks(), RunRoot: l.Network(), NetNSDir: l.NetNS()})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkContainerNetwork times, per container, setup (a new named netns
// with lo up, plus a veth on a bridge network with an address from IPAM and
// a default route) and teardown, and reports the medians. Target: setup
// under 10 ms. Teardown is measured in both orders: Detach then
// DeleteNetNS (veth deleted by berth), and DeleteNetNS then DetachAll (veth
// destroyed by the kernel with the namespace, DetachAll waiting for it).
func BenchmarkContainerNetwork(b *testing.B) {
	for _, nsFirst := range []bool{false, true} {
		name := "detach-first"
		if nsFirst {
			name = "netns-first"
		}
		b.Run(name, func(b *testing.B) { benchContainerNetwork(b, nsFirst) })
	}
}

func benchContainerNetwork(b *testing.B, nsFirst bool) {
	testutil.RequiresRoot(b)
	ctx := context.Background()
	m := newBenchManager(b)
	n, err := m.Create(ctx, network.CreateOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Remove(ctx, n.ID) })
	var setup, teardown []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		t0 := time.Now()
		path, err := m.NewNetNS(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Attach(ctx, network.AttachOptions{ContainerID: id, ContainerName: id, NetNSPath: path, Network: "bench"}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := teardownOne(ctx, m, id, nsFirst); err != nil {
			b.Fatal(err)
		}
		setup, teardown = append(setup, t1.Sub(t0)), append(teardown, time.Since(t1))
	}
	b.StopTimer()
	b.ReportMetric(ms(median(setup)), "setup-median-ms")
	b.ReportMetric(ms(median(teardown)), "teardown-median-ms")
}

func teardownOne(ctx context.Context, m *network.Manager, id string, nsFirst bool) error {
	if nsFirst {
		if err := m.DeleteNetNS(ctx, id); err != nil {
			return err
		}
		return m.DetachAll(ctx, id)
	}
	if err := m.DetachAll(ctx, id); err != nil {
		return err
	}
	return m.DeleteNetNS(ctx, id)
}

// BenchmarkTeardown20 tears down 20 attached containers at once (as
// `compose down` does), in both orders, and reports the wall time per batch.
func BenchmarkTeardown20(b *testing.B) {
	for _, nsFirst := range []bool{false, true} {
		name := "detach-first"
		if nsFirst {
			name = "netns-first"
		}
		b.Run(name, func(b *testing.B) { benchTeardownBatch(b, 20, nsFirst) })
	}
}

func benchTeardownBatch(b *testing.B, n int, nsFirst bool) {
	testutil.RequiresRoot(b)
	ctx := context.Background()
	m := newBenchManager(b)
	nw, err := m.Create(ctx, network.CreateOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Remove(ctx, nw.ID) })
	var batches []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ids := make([]string, n)
		for j := range ids {
			ids[j] = fmt.Sprintf("batch-%d-%d", i, j)
			path, err := m.NewNetNS(ctx, ids[j])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Attach(ctx, network.AttachOptions{ContainerID: ids[j], NetNSPath: path, Network: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		errs := make(chan error, n)
		for _, id := range ids {
			go func() { errs <- teardownOne(ctx, m, id, nsFirst) }()
		}
		for range ids {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		batches = append(batches, time.Since(t0))
	}
	b.ReportMetric(ms(median(batches)), "batch-median-ms")
}

// BenchmarkCreateRemove times creating and removing a network (bridge,
// subnet, iptables rules), as `compose up` / `down` do once per network.
func BenchmarkCreateRemove(b *testing.B) {
	testutil.RequiresRoot(b)
	ctx := context.Background()
	m := newBenchManager(b)
	var create, remove []time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		n, err := m.Create(ctx, network.CreateOptions{Name: fmt.Sprintf("n%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := m.Remove(ctx, n.ID); err != nil {
			b.Fatal(err)
		}
		create, remove = append(create, t1.Sub(t0)), append(remove, time.Since(t1))
	}
	b.ReportMetric(ms(median(create)), "create-median-ms")
	b.ReportMetric(ms(median(remove)), "remove-median-ms")
}
