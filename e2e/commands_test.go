package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunStdin(t *testing.T) {
	e := newEnv(t)
	r := e.runCtx(context.Background(), []byte("hello from stdin\n"), "container", "run", "--rm", "-i", "busybox", "cat")
	if r.Code != 0 || r.Stdout != "hello from stdin\n" {
		t.Errorf("run -i cat: %s", r)
	}
	r = e.runCtx(context.Background(), []byte("ignored\n"), "container", "run", "--rm", "busybox", "cat")
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("run without -i read stdin: %s", r)
	}
}

func TestRunFlags(t *testing.T) {
	e := newEnv(t)
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("FROM_FILE=1\n# comment\n"), 0o644)
	out := e.must("container", "run", "--rm", "-e", "A=b", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000",
		"--hostname", "box", "busybox", "sh", "-c", `echo $A $FROM_FILE $(pwd) $(id -u):$(id -g) $(hostname) $(cat /etc/hostname)`)
	if out != "b 1 /tmp 1000:1000 box box\n" {
		t.Errorf("got %q", out)
	}
	out = e.must("container", "run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint")
	if out != "from entrypoint\n" {
		t.Errorf("--entrypoint: %q", out)
	}
	// The monitor runs with its own Go settings (runtime.monitorGoEnv);
	// they must not reach the container.
	out = e.must("container", "run", "--rm", "busybox", "env")
	if strings.Contains(out, "GOMAXPROCS") || strings.Contains(out, "GOGC") {
		t.Errorf("the monitor's Go settings leaked into the container's environment:\n%s", out)
	}
	e.must("container", "run", "-d", "--name", "envmon", "busybox", "sleep", "600")
	pid := strings.TrimSpace(e.inspect("envmon", "{{.State.Pid}}"))
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...: the monitor is the init's parent
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	environ, err := os.ReadFile("/proc/" + fields[1] + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\x00"+string(environ), "\x00GOMAXPROCS=1\x00") {
		t.Errorf("monitor %s runs without GOMAXPROCS=1: %q", fields[1], environ)
	}
	out = e.must("container", "run", "--rm", "--add-host", "db:10.1.2.3", "busybox", "grep", "db", "/etc/hosts")
	if !strings.Contains(out, "10.1.2.3\tdb") {
		t.Errorf("--add-host: %q", out)
	}
}

func TestExecFlags(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "box", "-e", "BASE=1", "busybox", "sleep", "600")
	out := e.must("container", "exec", "-e", "X=y", "-w", "/etc", "-u", "1000", "box", "sh", "-c", "echo $BASE $X $(pwd) $(id -u)")
	if out != "1 y /etc 1000\n" {
		t.Errorf("exec: %q", out)
	}
	if r := e.run("container", "exec", "box", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("exec exit code: %s", r)
	}
	if r := e.run("container", "exec", "box", "nope"); r.Code != 127 {
		t.Errorf("exec missing command: %s", r)
	}
	r := e.runCtx(context.Background(), []byte("piped\n"), "container", "exec", "-i", "box", "cat")
	if r.Stdout != "piped\n" {
		t.Errorf("exec -i: %s", r)
	}
	e.must("container", "exec", "-d", "box", "sh", "-c", "sleep 1; touch /tmp/detached")
	e.waitFor("the detached exec to finish", 10*time.Second, func() bool {
		return e.run("container", "exec", "box", "test", "-f", "/tmp/detached").Code == 0
	})
}

func TestPsFilterAndFormat(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "a1", "-l", "tier=front", "busybox", "sleep", "600")
	e.must("container", "run", "--name", "b1", "-l", "tier=back", "busybox", "true")
	if out := e.must("container", "ps", "--format", "{{.Names}}"); out != "a1\n" {
		t.Errorf("ps: %q", out)
	}
	if out := e.must("container", "ps", "-a", "--filter", "label=tier=back", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "b1 Exited (0)") {
		t.Errorf("ps --filter label: %q", out)
	}
	if out := e.must("container", "ps", "-a", "--filter", "status=running", "-q"); len(strings.TrimSpace(out)) != 12 {
		t.Errorf("ps --filter status=running -q: %q", out)
	}
	if out := e.must("container", "ps", "-n", "1", "--format", "{{.Names}}"); out != "b1\n" {
		t.Errorf("ps -n 1: %q", out)
	}
	if out := e.must("container", "ps", "--format", "json"); !strings.Contains(out, `"Names":"a1"`) {
		t.Errorf("ps --format json: %q", out)
	}
	if out := e.must("container", "inspect", "-f", "{{index .Config.Labels \"tier\"}} {{.State.Running}}", "a1"); out != "front true\n" {
		t.Errorf("inspect -f: %q", out)
	}
	e.must("container", "rename", "a1", "a2")
	if out := e.must("container", "ps", "--format", "{{.Names}}"); out != "a2\n" {
		t.Errorf("after rename: %q", out)
	}
	checkTop(t, e, "a2")
	checkPsSize(t, e)
	if out := e.must("container", "stats", "--no-stream", "a2"); !strings.Contains(out, "a2") || !strings.Contains(out, "MEM USAGE") {
		t.Errorf("stats: %q", out)
	}
	e.must("container", "kill", "a2")
	if got := e.must("container", "wait", "a2"); got != "137\n" {
		t.Errorf("wait after kill: %q", got)
	}
	e.must("container", "run", "--name", "writer", "busybox", "sh", "-c", "dd if=/dev/zero of=/blob bs=1k count=300 2>/dev/null")
	out := e.must("container", "prune", "-f")
	if strings.Count(out, "\n") < 3 {
		t.Errorf("prune -f: %q", out)
	}
	// The writable layers are reported, as docker container prune does: the
	// writer's 300 kB and the 300 kB of checkPsSize's container.
	if m := regexp.MustCompile(`Total reclaimed space: ([0-9.]+)kB`).FindStringSubmatch(out); m == nil {
		t.Errorf("prune -f reclaimed: %q", out)
	} else if kb, _ := strconv.ParseFloat(m[1], 64); kb < 600 || kb > 700 {
		t.Errorf("prune -f reclaimed %s kB, want the two writers' ~614 kB: %q", m[1], out)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("after prune: %q", out)
	}
}

// topTitles are ps -ef's columns, which top prints like Docker's.
var topTitles = []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}

// checkTop: top shows ps -ef's columns and the container's sleep 600 (as
// root, with a user name), ps options pass through, and options without a
// PID column fail as Docker's do.
func checkTop(t *testing.T, e *env, name string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(e.must("container", "top", name)), "\n")
	if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), topTitles) ||
		!regexp.MustCompile(`^root\s+\d+\s+\d+\s+\d+\s+\S+\s+\S+\s+\d\d:\d\d:\d\d\s+sleep 600$`).MatchString(lines[1]) {
		t.Errorf("top: want the %v header and one row root ... sleep 600:\n%s", topTitles, strings.Join(lines, "\n"))
	}
	if out := e.must("container", "top", name, "-o", "pid,args"); !regexp.MustCompile(`^\s*PID\s+COMMAND\n\s*\d+\s+sleep 600\n$`).MatchString(out) {
		t.Errorf("top -o pid,args:\n%s", out)
	}
	if r := e.run("container", "top", name, "-o", "args"); r.Code == 0 || !strings.Contains(r.Stderr, "Couldn't find PID field in ps output") {
		t.Errorf("top -o args (no PID column): %s", r)
	}
}

// checkPsSize: ps -s adds Docker's SIZE column for a container that wrote
// 300 kB: its writable layer, and the image's size added as "virtual".
// Without -s there is no column; {{.Size}} computes it anyway.
func checkPsSize(t *testing.T, e *env) {
	t.Helper()
	e.must("container", "run", "--name", "fat", "busybox", "sh", "-c", "head -c 307200 /dev/zero > /fat")
	if out := e.must("container", "ps", "-a"); strings.Contains(out, "SIZE") {
		t.Errorf("ps without -s has a SIZE column:\n%s", out)
	}
	table := e.must("container", "ps", "-a", "-s", "--filter", "name=fat")
	m := regexp.MustCompile(`(?m)NAMES\s+SIZE\n.*\sfat\s+((\d+)kB \(virtual [\d.]+MB\))\n$`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("ps -s: want NAMES then SIZE \"NkB (virtual N.NNMB)\":\n%s", table)
	}
	if kb, _ := strconv.Atoi(m[2]); kb < 300 || kb >= 400 {
		t.Errorf("ps -s: writable layer %s, want 300kB to 400kB", m[1])
	}
	if out := e.must("container", "ps", "-a", "--filter", "name=fat", "--format", "{{.Size}}"); out != m[1]+"\n" {
		t.Errorf("ps --format {{.Size}}: %q, want %q as in the table", out, m[1])
	}
	if out := e.must("container", "ps", "-a", "-s", "--filter", "name=fat", "--format", "json"); !strings.Contains(out, `"Size":"`+m[1]+`"`) {
		t.Errorf("ps -s --format json: %s", out)
	}
	// virtual is exactly the writable layer plus the image
	var rw, root, img int64
	fmt.Sscan(e.must("container", "inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "fat"), &rw, &root)
	fmt.Sscan(e.must("image", "inspect", "-f", "{{.Size}}", "busybox"), &img)
	if rw < 300_000 || rw >= 400_000 || img == 0 || root != rw+img {
		t.Errorf("inspect -s: SizeRw %d, SizeRootFs %d; image %d", rw, root, img)
	}
}

func TestCopy(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "-d", "--name", "box", "-v", "cpvol:/vol", "busybox", "sh", "-c", "mkdir -p /data/sub; echo inside > /data/sub/f; ln -s /etc /data/etclink; ln -s / /data/rootlink; echo in-volume > /vol/v; sleep 600")
	e.waitFor("the files", 10*time.Second, func() bool { return e.run("container", "exec", "box", "test", "-f", "/vol/v").Code == 0 })
	host := t.TempDir()
	e.must("container", "cp", "box:/data/sub/f", host)
	if b, _ := os.ReadFile(filepath.Join(host, "f")); string(b) != "inside\n" {
		t.Errorf("cp out: %q", b)
	}
	e.must("container", "cp", "box:/data", filepath.Join(host, "copy"))
	if l, err := os.Readlink(filepath.Join(host, "copy", "etclink")); err != nil || l != "/etc" {
		t.Errorf("cp out of a dir: symlink %q %v (must be copied as a link, not followed)", l, err)
	}
	src := filepath.Join(host, "in.txt")
	os.WriteFile(src, []byte("from host\n"), 0o644)
	e.must("container", "cp", src, "box:/data/sub/")
	if out := e.must("container", "exec", "box", "cat", "/data/sub/in.txt"); out != "from host\n" {
		t.Errorf("cp in: %q", out)
	}
	// A running container's volumes are copied as it sees them, both ways.
	e.must("container", "cp", "box:/vol/v", host)
	if b, _ := os.ReadFile(filepath.Join(host, "v")); string(b) != "in-volume\n" {
		t.Errorf("cp out of a volume: %q", b)
	}
	e.must("container", "cp", src, "box:/vol/")
	if out := e.must("container", "exec", "box", "cat", "/vol/in.txt"); out != "from host\n" {
		t.Errorf("cp into a volume: the container sees %q", out)
	}
	// A symlink in the container pointing at / must not let cp write to the host.
	marker := filepath.Join(t.TempDir(), "escaped")
	os.WriteFile(src, []byte("x"), 0o644)
	e.run("container", "cp", src, "box:/data/rootlink"+marker)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("cp wrote through a container symlink to the host: %s", marker)
	}
	if r := e.run("container", "cp", "box:/nope", host); r.Code == 0 {
		t.Errorf("cp of a missing path succeeded")
	}
}

func TestExportCommit(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "--name", "src", "busybox", "sh", "-c", "echo layered > /marker")
	tarPath := filepath.Join(t.TempDir(), "fs.tar")
	e.must("container", "export", "-o", tarPath, "src")
	if fi, err := os.Stat(tarPath); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("export: %v %v", fi, err)
	}
	id := strings.TrimSpace(e.must("container", "commit", "src", "committed:v1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("commit printed %q", id)
	}
	if out := e.must("container", "run", "--rm", "committed:v1", "cat", "/marker"); out != "layered\n" {
		t.Errorf("committed image: %q", out)
	}
}
