package network

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStoreFiles: the networks go to networks.json, their allocations to
// endpoints.json in the run dir; changing only an endpoint leaves
// networks.json alone; and the allocations a networks.json of an older
// berth holds are read, then moved.
func TestStoreFiles(t *testing.T) {
	dir := t.TempDir()
	m := &Manager{opts: Options{Root: filepath.Join(dir, "data"), RunRoot: filepath.Join(dir, "run"), NetNSDir: filepath.Join(dir, "netns")}}
	if err := m.ensureDirs(); err != nil {
		t.Fatal(err)
	}
	old := `{"networks": {"n1": {"id": "n1", "name": "one", "subnet": "172.30.0.0/16", "gateway": "172.30.0.1", "bridge": "br-n1",
	  "lastIP": "172.30.0.2", "endpoints": {"c1": {"containerID": "c1", "ip": "172.30.0.2", "hostIfName": "vethc1"}}}}}`
	if err := os.WriteFile(m.statePath(), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, unlock, err := m.lockState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := st.Networks["n1"].Endpoints["c1"]; e == nil || e.IP != "172.30.0.2" {
		t.Fatalf("endpoint of the old file: %+v", st.Networks["n1"].Endpoints)
	}
	if err := m.writeStateLocked(st); err != nil {
		t.Fatal(err)
	}
	unlock()
	nets, _ := os.ReadFile(m.statePath())
	eps, _ := os.ReadFile(m.endpointsPath())
	if strings.Contains(string(nets), "172.30.0.2") || !strings.Contains(string(nets), "br-n1") {
		t.Fatalf("networks.json after the move:\n%s", nets)
	}
	if !strings.Contains(string(eps), "vethc1") || !strings.Contains(string(eps), `"lastIP": "172.30.0.2"`) {
		t.Fatalf("endpoints.json after the move:\n%s", eps)
	}

	ino := func(p string) uint64 {
		var s syscall.Stat_t
		if err := syscall.Stat(p, &s); err != nil {
			t.Fatal(err)
		}
		return s.Ino
	}
	before := ino(m.statePath())
	st, unlock, err = m.lockState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delete(st.Networks["n1"].Endpoints, "c1")
	if err := m.writeStateLocked(st); err != nil {
		t.Fatal(err)
	}
	unlock()
	if ino(m.statePath()) != before {
		t.Error("networks.json rewritten for an endpoint change")
	}
	st, err = m.readState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Networks["n1"]; n == nil || len(n.Endpoints) != 0 || n.LastIP != "172.30.0.2" || n.Bridge != "br-n1" {
		t.Fatalf("state after the release: %+v", n)
	}
	// A reboot clears the run dir: the networks stay, their endpoints go.
	os.Remove(m.endpointsPath())
	if st, err = m.readState(ctx); err != nil || st.Networks["n1"] == nil || len(st.Networks["n1"].Endpoints) != 0 {
		t.Fatalf("state without endpoints.json: %+v, %v", st, err)
	}
}
