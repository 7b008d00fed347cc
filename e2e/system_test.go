package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// system df counts what exists and what is in use; system prune removes
// stopped containers and unused networks but keeps running containers,
// their image and named volumes.
func TestSystemDfAndPrune(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "--name", "done", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big")
	e.must("container", "run", "-d", "--name", "up", "-v", "keep:/d", "busybox", "sleep", "300")
	e.must("network", "create", "spare")

	df := e.must("system", "df")
	// Compare with white space folded: the columns are padded.
	folded := strings.Join(strings.Fields(df), " ")
	for _, want := range []string{"TYPE TOTAL ACTIVE SIZE RECLAIMABLE", "Images 1 1", "Containers 2 1 100kB 100kB (100%)", "Local Volumes 1 1"} {
		if !strings.Contains(folded, want) {
			t.Errorf("system df lacks %q:\n%s", want, df)
		}
	}
	out := e.must("system", "prune", "-f")
	if !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, "Deleted Networks:\nspare") {
		t.Errorf("system prune output:\n%s", out)
	}
	if ps := e.must("container", "ps", "-a", "--format", "{{.Names}}"); strings.TrimSpace(ps) != "up" {
		t.Errorf("after prune containers are %q, want only the running one", ps)
	}
	if nets := e.must("network", "ls", "--format", "{{.Name}}"); strings.Contains(nets, "spare") {
		t.Errorf("network spare survived prune: %q", nets)
	}
	if vols := e.must("volume", "ls", "-q"); strings.TrimSpace(vols) != "keep" {
		t.Errorf("named volume after prune: %q", vols)
	}
	e.must("container", "inspect", "-f", "{{.Image}}", "up") // its image is still there
	if r := e.run("image", "inspect", "busybox"); r.Code != 0 {
		t.Errorf("prune removed an image in use: %s", r)
	}
}

// TestCoreAndComposeBuilds: bin/berth (the core build) serves the object
// commands itself and hands project commands, help and completion to
// berth-compose next to it; without berth-compose it says so and exits
// 125 while its own commands still work.
func TestCoreAndComposeBuilds(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.bin), "berth-compose")); err != nil {
		t.Skipf("BERTH_BIN has no berth-compose next to it (a full build): %v", err)
	}
	if out := e.must("--help"); !strings.Contains(out, "Project commands:") || !strings.Contains(out, "  up ") {
		t.Errorf("berth --help (from berth-compose) lists no project commands:\n%s", out)
	}
	if out := e.must("completion", "bash"); !strings.Contains(out, "__berth") {
		t.Errorf("completion bash:\n%.300s", out)
	}
	dir := t.TempDir()
	core := filepath.Join(dir, "berth")
	data, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(core, data, 0o755); err != nil {
		t.Fatal(err)
	}
	alone := &env{t: t, bin: core, root: e.root, ids: map[string]bool{}}
	if out := alone.must("image", "ls", "--format", "{{.Repository}}"); strings.TrimSpace(out) != "busybox" {
		t.Errorf("image ls without berth-compose: %q", out)
	}
	r := alone.run("up", "-d")
	if r.Code != 125 || !strings.Contains(r.Stderr, "berth-compose") || !strings.Contains(r.Stderr, filepath.Join(dir, "berth-compose")) {
		t.Errorf("up without berth-compose: %s", r)
	}
}
