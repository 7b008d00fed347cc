package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Issue 3, test 3: a name resolves as soon as run -d returns, cycle after
// cycle.
func TestDNSBackToBack(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "dnsnet")
	e.must("container", "run", "-d", "--name", "client", "--network", "dnsnet", "busybox", "sleep", "3600")
	failures := 0
	for i := range 100 {
		name := fmt.Sprintf("svc%d", i)
		e.must("container", "run", "-d", "--name", name, "--network", "dnsnet", "busybox", "sleep", "3600")
		if r := e.run("container", "exec", "client", "nslookup", "-timeout=3", name); r.Code != 0 || !strings.Contains(r.Stdout, "Address") {
			failures++
			t.Logf("cycle %d: %s", i, r)
			if failures == 5 {
				t.Fatalf("5 failures in %d cycles (a bridge whose MAC changes when a port goes makes clients lose the gateway)", i+1)
			}
		}
		e.must("container", "rm", "-f", name)
	}
	if failures > 0 {
		t.Errorf("%d of 100 lookups failed", failures)
	}
}

// Containers started by several berth processes at once all resolve.
func TestDNSConcurrentStarts(t *testing.T) {
	e := newEnv(t)
	e.must("network", "create", "par")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.run("container", "run", "-d", "--name", fmt.Sprintf("p%d", i), "--network", "par", "busybox", "sleep", "3600"); r.Code != 0 {
				errs <- r.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent run: %s", err)
	}
	for i := range 8 {
		name := fmt.Sprintf("p%d", i)
		if r := e.run("container", "exec", "p0", "nslookup", name); r.Code != 0 {
			t.Errorf("%s does not resolve: %s", name, r)
		}
	}
}
