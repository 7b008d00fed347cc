package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// berthBin returns BERTH_BIN or a binary built once for this test run.
func berthBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("BERTH_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "berth-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "berth")
		// As `make build` lays them out: berth is the core build, which
		// hands the project commands to berth-compose (the full build);
		// berth-monitor sits next to them, so the monitors, libcontainer's
		// init and --init run from it, and each running container's monitor
		// execs berth-monitor-idle.
		for _, b := range []struct{ name, pkg, tags string }{
			{"berth", "berth", "seccomp netgo osusergo berthcore"},
			{"berth-compose", "berth", "seccomp netgo osusergo"},
			{"berth-monitor", "berth-monitor", "seccomp netgo osusergo"},
			{"berth-monitor-idle", "berth-monitor-idle", "seccomp netgo osusergo"},
		} {
			name := b.name
			cmd := exec.Command("go", "build", "-tags", b.tags, "-ldflags", "-extldflags -static",
				"-o", filepath.Join(dir, name), "github.com/berth/berth/cmd/"+b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	stop, err := startFakeUpstream()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: fake upstream DNS:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	if binPath != "" && os.Getenv("BERTH_BIN") == "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// env is one test's berth world: a binary and a data root.
type env struct {
	t    *testing.T
	bin  string
	root string

	mu  sync.Mutex
	ids map[string]bool // every container id seen under the root
}

// result is one berth invocation's outcome.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
}

// newEnv makes a root with the busybox image and registers the leak check.
func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequiresRoot(t)
	t.Parallel()
	e := &env{t: t, bin: berthBin(t), ids: map[string]bool{}}
	tarPath := testutil.BusyboxTarFile(t)
	e.root = testutil.TempRoot(t) // its cleanup runs after ours (LIFO)
	t.Cleanup(e.cleanup)
	e.must("image", "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--change", `CMD ["sh"]`, tarPath, "busybox")
	return e
}

// run runs berth with args on the env's root.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runCtx(context.Background(), nil, args...)
}

func (e *env) runCtx(ctx context.Context, stdin []byte, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("berth %v: %v", args, err)
	}
	e.noteIDs()
	return r
}

// must runs berth and fails the test unless it exits 0; it returns stdout.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.Code != 0 {
		e.t.Fatalf("berth %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

// noteIDs records the containers that exist now, for the leak check.
func (e *env) noteIDs() {
	ents, _ := os.ReadDir(filepath.Join(e.root, "containers"))
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, de := range ents {
		if len(de.Name()) == 64 {
			e.ids[de.Name()] = true
		}
	}
}

// inspect returns one field of a container's inspect document.
func (e *env) inspect(ref, tmpl string) string {
	e.t.Helper()
	return strings.TrimSpace(e.must("container", "inspect", "-f", tmpl, ref))
}

// waitFor polls cond until it holds or the deadline passes.
func (e *env) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanup removes what the test left and fails on anything that leaked.
func (e *env) cleanup() {
	t := e.t
	for _, id := range strings.Fields(e.run("container", "ps", "-aq", "--no-trunc").Stdout) {
		if r := e.run("container", "rm", "-f", "-v", id); r.Code != 0 {
			t.Errorf("cleanup: rm -f %s: %s", id, r)
		}
	}
	bridges := e.bridges()
	for _, n := range strings.Fields(e.run("network", "ls", "-q").Stdout) {
		e.run("network", "rm", n)
	}
	e.stopDNS()
	for _, leak := range e.leaks() {
		t.Errorf("leak: %s", leak)
	}
	for _, b := range bridges {
		if _, err := os.Stat("/sys/class/net/" + b); err == nil {
			t.Errorf("leak: bridge %s after its network was removed", b)
		}
	}
}

// bridges returns the bridge devices of the root's networks.
func (e *env) bridges() []string {
	data, _ := os.ReadFile(filepath.Join(e.root, "network", "networks.json"))
	var out []string
	for _, m := range regexp.MustCompile(`"bridge":\s*"([^"]+)"`).FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// stopDNS waits for the monitors' exit hooks to finish (they run in the
// monitor, which releases the container before its hook, or in an
// "__exited" process), then ends this root's DNS server (a hook may have
// started it again after the networks went).
func (e *env) stopDNS() {
	e.waitProcs("__monitor", 20*time.Second)
	e.waitProcs("__exited", 20*time.Second)
	for _, pid := range e.procs("__dns") {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	e.waitProcs("__dns", 10*time.Second)
}

// procs lists the processes started on this root with the hidden command
// cmd ("__dns", "__monitor", "__exited"; "" for any).
func (e *env) procs(cmd string) []int {
	var out []int
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "\x00"+e.root+"\x00"+cmd) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func (e *env) waitProcs(cmd string, d time.Duration) {
	for deadline := time.Now().Add(d); len(e.procs(cmd)) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// leaks lists mounts under the root, cgroups of its containers, berth
// processes of the root (monitors, DNS server, hooks) and netns files.
func (e *env) leaks() []string {
	var out []string
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], e.root+"/") {
			out = append(out, "mount "+f[4])
		}
	}
	e.mu.Lock()
	ids := e.ids
	e.mu.Unlock()
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/berth/*")
	more, _ := filepath.Glob("/sys/fs/cgroup/berth/*")
	for _, p := range append(cgs, more...) {
		if ids[filepath.Base(p)] {
			out = append(out, "cgroup "+p)
		}
	}
	for _, pid := range e.procs("") {
		out = append(out, fmt.Sprintf("berth process %d on the root", pid))
	}
	ns, _ := os.ReadDir(filepath.Join(e.root, "run", "netns"))
	for _, de := range ns {
		out = append(out, "netns "+de.Name())
	}
	return out
}
