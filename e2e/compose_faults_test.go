package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// bgBerth is a berth process running in the background.
type bgBerth struct {
	cmd    *exec.Cmd
	out    testutil.SyncBuffer
	errb   testutil.SyncBuffer
	done   chan struct{}
	code   int
	cancel context.CancelFunc
}

// start runs berth with args in the background; the process is killed when
// the test ends if it is still running.
func (e *env) start(args ...string) *bgBerth {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	b := &bgBerth{done: make(chan struct{}), cancel: cancel}
	b.cmd = exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errb
	if err := b.cmd.Start(); err != nil {
		cancel()
		e.t.Fatalf("start berth %v: %v", args, err)
	}
	go func() {
		err := b.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			b.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				b.code = 128 + int(ws.Signal())
			}
		} else if err != nil {
			b.code = -1
		}
		e.noteIDs()
		close(b.done)
	}()
	e.t.Cleanup(func() { cancel(); <-b.done })
	return b
}

// wait waits up to d for the process to end; it reports whether it did.
func (b *bgBerth) wait(d time.Duration) bool {
	select {
	case <-b.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (b *bgBerth) String() string {
	return "stdout: " + b.out.String() + "\nstderr: " + b.errb.String()
}

// containers maps the name of every container under the root to its
// state and compose project label ("running app").
func (e *env) containers() map[string]string {
	e.t.Helper()
	out := e.must("container", "ps", "-a", "--format", `{{.Names}} {{.State}} {{.Label "com.docker.compose.project"}}`)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.SplitN(l, " ", 2); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// names returns the sorted keys of m.
func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeCompose(t *testing.T, dir, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

const orphanAB = `services:
  a:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  b:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
`

const orphanA = `services:
  a:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
`

// TestComposeOrphans: a service removed from the file leaves its container
// running (with a warning naming it) until up or down --remove-orphans.
func TestComposeOrphans(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "corph", orphanAB)
	p := []string{"--project-directory", dir, "--progress", "plain"}
	e.must(append(p, "up", "-d")...)
	aID := e.inspect("corph-a-1", "{{.Id}}")

	writeCompose(t, dir, orphanA)
	r := e.run(append(p, "up", "-d")...)
	if r.Code != 0 {
		t.Fatalf("up without b: %s", r)
	}
	if !strings.Contains(strings.ToLower(r.Stderr), "orphan") || !strings.Contains(r.Stderr, "corph-b-1") {
		t.Errorf("up without b does not warn about the orphan corph-b-1:\n%s", r.Stderr)
	}
	if got := e.inspect("corph-b-1", "{{.State.Status}}"); got != "running" {
		t.Errorf("orphan b is %s after a plain up, want it kept running", got)
	}
	if e.inspect("corph-a-1", "{{.Id}}") != aID {
		t.Error("up without b recreated a")
	}

	e.must(append(p, "up", "-d", "--remove-orphans")...)
	if r := e.run("container", "inspect", "corph-b-1"); r.Code == 0 {
		t.Errorf("orphan b still exists after up --remove-orphans")
	}
	if e.inspect("corph-a-1", "{{.Id}}") != aID {
		t.Error("up --remove-orphans recreated a")
	}

	// down --remove-orphans takes the orphan with it too
	writeCompose(t, dir, orphanAB)
	e.must(append(p, "up", "-d")...)
	writeCompose(t, dir, orphanA)
	e.must(append(p, "down", "--remove-orphans", "-t", "1")...)
	if left := e.containers(); len(left) != 0 {
		t.Errorf("containers left after down --remove-orphans: %v", left)
	}
}

// TestComposeCycle: a dependency cycle fails up with an error naming it,
// and nothing is created.
func TestComposeCycle(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "ccyc", `services:
  a:
    image: busybox
    command: ["sleep", "3600"]
    depends_on: [b]
    volumes: [data:/data]
  b:
    image: busybox
    command: ["sleep", "3600"]
    depends_on:
      a: {condition: service_started}
  c:
    image: busybox
    command: ["sleep", "3600"]
    networks: [back]
networks:
  back: {}
volumes:
  data: {}
`)
	for _, args := range [][]string{{"up", "-d"}, {"up"}, {"create"}} {
		r := e.run(append([]string{"--project-directory", dir}, args...)...)
		if r.Code == 0 {
			t.Fatalf("%v with a cycle succeeded: %s", args, r)
		}
		if !regexpMatch(`dependency cycle.*(a -> b -> a|b -> a -> b)`, r.Stderr) {
			t.Errorf("%v: the error does not name the cycle a -> b -> a:\n%s", args, r.Stderr)
		}
	}
	if left := e.containers(); len(left) != 0 {
		t.Errorf("containers created: %v", left)
	}
	if out := e.must("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "ccyc") {
		t.Errorf("networks created:\n%s", out)
	}
	if out := e.must("volume", "ls", "-q"); out != "" {
		t.Errorf("volumes created: %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, "volumes")); len(ents) != 0 {
		t.Errorf("volume dirs under the root: %v", ents)
	}
}

// slowChainYAML: gate turns healthy only once ctl/ready exists on the host,
// so an up without it is stuck mid-way with mid and top waiting on it.
const slowChainYAML = `services:
  gate:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: ["./ctl:/ctl"]
    healthcheck:
      test: ["CMD", "test", "-f", "/ctl/ready"]
      interval: 200ms
      retries: 1000
  side:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  mid:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on:
      gate: {condition: service_healthy}
  top:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [mid, side]
`

// TestComposeInterruptedUp: SIGINT or SIGTERM while up waits on a
// dependency leaves no half-created container; a second up converges and
// down leaves nothing behind.
func TestComposeInterruptedUp(t *testing.T) {
	for _, tc := range []struct {
		name, proj string
		detach     bool
		sig        syscall.Signal
	}{
		{"detached-sigint", "cintdi", true, syscall.SIGINT},
		{"detached-sigterm", "cintdt", true, syscall.SIGTERM},
		{"attached-sigint", "cintai", false, syscall.SIGINT},
		{"attached-sigterm", "cintat", false, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			proj := tc.proj
			dir := composeDir(t, proj, slowChainYAML)
			if err := os.MkdirAll(filepath.Join(dir, "ctl"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := []string{"--project-directory", dir, "--progress", "plain"}
			args := append(p, "up")
			if tc.detach {
				args = append(args, "-d")
			}
			up := e.start(args...)
			e.waitFor("gate to run (up stuck on its health)", 60*time.Second, func() bool {
				select {
				case <-up.done:
					t.Fatalf("up ended before it was interrupted (exit %d):\n%s", up.code, up)
				default:
				}
				return strings.HasPrefix(e.containers()[proj+"-gate-1"], "running")
			})
			time.Sleep(500 * time.Millisecond) // let up reach the wait
			if err := up.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if !up.wait(60 * time.Second) {
				t.Fatalf("up did not end within 60s of %v:\n%s", tc.sig, up)
			}
			t.Logf("up exited %d after %v:\n%s", up.code, tc.sig, up)
			if want := 128 + int(tc.sig); up.code != want {
				t.Errorf("interrupted up exited %d, want %d (128+signal, like a shell):\n%s", up.code, want, up)
			}
			for name, st := range e.containers() {
				f := strings.Fields(st)
				if len(f) != 2 || f[1] != proj {
					t.Errorf("container %s after %v: %q, want it labelled with project %s", name, tc.sig, st, proj)
					continue
				}
				switch {
				case f[0] == "created":
					t.Errorf("half-created container %s left after %v:\n%s", name, tc.sig, up)
				case tc.detach && f[0] != "running":
					t.Errorf("container %s is %s after up -d got %v, want running or removed", name, f[0], tc.sig)
				}
			}

			// the second up converges
			if err := os.WriteFile(filepath.Join(dir, "ctl", "ready"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			e.must(append(p, "up", "-d", "--wait", "--wait-timeout", "60")...)
			got := e.containers()
			want := []string{proj + "-gate-1", proj + "-mid-1", proj + "-side-1", proj + "-top-1"}
			if strings.Join(names(got), " ") != strings.Join(want, " ") {
				t.Errorf("after the second up: %v, want %v", got, want)
			}
			for name, st := range got {
				if !strings.HasPrefix(st, "running ") {
					t.Errorf("%s is %q after the second up", name, st)
				}
			}
			e.must(append(p, "down", "-t", "1")...)
			if left := e.containers(); len(left) != 0 {
				t.Errorf("containers left after down: %v", left)
			}
		})
	}
}

const concurrentYAML = `services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: {ROUND: "${ROUND}"}
    volumes: [data:/data]
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    scale: 2
    depends_on: [db]
  cache:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
volumes:
  data: {}
`

// TestComposeConcurrentUp: two up -d of one project at once both succeed
// and leave exactly one container per service replica; the same after a
// change that makes both recreate db.
func TestComposeConcurrentUp(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cconc", "")
	want := "cconc-cache-1 cconc-db-1 cconc-web-1 cconc-web-2"
	for _, round := range []string{"one", "two"} {
		writeCompose(t, dir, strings.ReplaceAll(concurrentYAML, "${ROUND}", round))
		var wg sync.WaitGroup
		res := make([]result, 2)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = e.run("--project-directory", dir, "--progress", "plain", "up", "-d")
			}()
		}
		wg.Wait()
		for i, r := range res {
			if r.Code != 0 {
				t.Errorf("round %s: concurrent up %d failed: %s", round, i, r)
			}
		}
		got := e.containers()
		if strings.Join(names(got), " ") != want {
			t.Errorf("round %s: containers %v, want exactly %s", round, got, want)
		}
		for name, st := range got {
			if st != "running cconc" {
				t.Errorf("round %s: %s is %q", round, name, st)
			}
		}
		if env := e.inspect("cconc-db-1", "{{range .Config.Env}}{{.}} {{end}}"); !strings.Contains(env, "ROUND="+round) {
			t.Errorf("round %s: db has env %q", round, env)
		}
		if out := e.must("network", "ls", "--format", "{{.Name}}"); strings.Count(out, "cconc_default") != 1 {
			t.Errorf("round %s: networks:\n%s", round, out)
		}
	}
	if out := e.must("volume", "ls", "-q"); strings.TrimSpace(out) != "cconc_data" {
		t.Errorf("volumes: %q", out)
	}
	e.must("--project-directory", dir, "down", "-v", "-t", "1")
}

// TestComposeLogsFollowRestart: logs -f keeps following a service across
// restart and a forced recreate, and ends by itself once down stopped the
// project.
func TestComposeLogsFollowRestart(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cfollow", `services:
  ticker:
    image: busybox
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        echo "boot $$(cat /proc/sys/kernel/random/uuid)"
        while true; do echo tick; sleep 1 & wait $$!; done
`)
	p := []string{"--project-directory", dir, "--progress", "plain"}
	e.must(append(p, "up", "-d")...)
	logs := e.start("--project-directory", dir, "logs", "-f", "--no-color")

	// boots returns the distinct boot ids followed so far and whether a
	// tick came after the last new one.
	boots := func() (int, bool) {
		seen := map[string]bool{}
		tickAfter := false
		for _, l := range strings.Split(logs.out.String(), "\n") {
			if i := strings.Index(l, "boot "); i >= 0 {
				id := strings.TrimSpace(l[i+5:])
				if !seen[id] {
					seen[id] = true
					tickAfter = false
				}
			} else if strings.HasSuffix(strings.TrimSpace(l), "| tick") {
				tickAfter = true
			}
		}
		return len(seen), tickAfter
	}
	waitBoots := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, tick := boots()
			if got >= n && tick {
				return
			}
			select {
			case <-logs.done:
				t.Fatalf("logs -f ended early (exit %d) waiting for %s:\n%s", logs.code, what, logs)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("logs -f did not show %s (want %d boots and a tick after the last):\n%s", what, n, logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitBoots("the first start", 1)
	e.must(append(p, "restart", "-t", "1", "ticker")...)
	waitBoots("the restarted container", 2)
	oldID := e.inspect("cfollow-ticker-1", "{{.Id}}")
	e.must(append(p, "up", "-d", "--force-recreate", "-t", "1", "ticker")...)
	if e.inspect("cfollow-ticker-1", "{{.Id}}") == oldID {
		t.Fatal("up --force-recreate kept the container")
	}
	waitBoots("the recreated container", 3)
	if !strings.Contains(logs.out.String(), "ticker-1  | ") {
		t.Errorf("followed lines lack the service prefix:\n%s", logs.out.String())
	}

	e.must(append(p, "down", "-t", "1")...)
	if !logs.wait(30 * time.Second) {
		t.Fatalf("logs -f still running 30s after down:\n%s", logs)
	}
	if logs.code != 0 {
		t.Errorf("logs -f exited %d after down:\n%s", logs.code, logs)
	}
}

// TestComposeMissingImageAndBusyPort: a missing image fails up before
// anything starts, naming the service; a published port already taken
// fails up naming the port, and a second up converges once it is free.
func TestComposeMissingImageAndBusyPort(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cimg", `services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  app:
    image: nosuch-image:1
    depends_on: [db]
`)
	r := e.run("--project-directory", dir, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, "nosuch-image") || !strings.Contains(r.Stderr, "app") {
		t.Fatalf("up with a missing image: want an error naming app and its image: %s", r)
	}
	if left := e.containers(); len(left) != 0 {
		t.Errorf("containers created despite the missing image: %v", left)
	}
	e.must("--project-directory", dir, "down")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	pdir := composeDir(t, "cport", `services:
  web:
    image: busybox
    command: ["sh", "-c", "echo up > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    ports: ["127.0.0.1:`+port+`:8080"]
`)
	r = e.run("--project-directory", pdir, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, port) || !strings.Contains(r.Stderr, "cport-web-1") {
		t.Fatalf("up with a busy port %s: want an error naming it and the container: %s", port, r)
	}
	for name, st := range e.containers() {
		if strings.HasPrefix(st, "running") {
			t.Errorf("%s is running although its port is taken", name)
		}
	}
	l.Close()
	e.must("--project-directory", pdir, "up", "-d")
	e.waitFor("web on the freed port", 20*time.Second, func() bool {
		resp, err := httpGet("http://127.0.0.1:" + port + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	e.must("--project-directory", pdir, "down", "-t", "1")
}

// TestComposeDownAfterCrash: with every monitor and the DNS server killed
// and the project's bridge deleted by hand, down -v still removes the
// project and leaves nothing behind (the env's cleanup checks mounts,
// cgroups, netns files and processes).
func TestComposeDownAfterCrash(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "ccrash", `services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: [data:/data]
  web:
    image: busybox
    command: ["sh", "-c", "echo up > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    depends_on: [db]
    ports: ["127.0.0.1::8080"]
volumes:
  data: {}
`)
	p := []string{"--project-directory", dir, "--progress", "plain"}
	e.must(append(p, "up", "-d")...)
	br := e.inspectNet("ccrash_default", `{{index .Options "com.docker.network.bridge.name"}}`)
	var veths []string
	ents, _ := os.ReadDir("/sys/class/net/" + br + "/brif")
	for _, de := range ents {
		veths = append(veths, de.Name())
	}
	if br == "" || len(veths) != 2 {
		t.Fatalf("bridge %q with links %v, want two veths", br, veths)
	}
	hostPort := strings.TrimSpace(e.must(append(p, "port", "web", "8080")...))
	if !regexpMatch(`^127\.0\.0\.1:[0-9]+$`, hostPort) {
		t.Fatalf("port web 8080: %q, want 127.0.0.1:PORT", hostPort)
	}
	e.waitFor("web on "+hostPort, 20*time.Second, func() bool {
		body, err := getBody("http://" + hostPort + "/")
		return err == nil && body == "up\n"
	})
	mons, dns := e.procs("__monitor"), e.procs("__dns")
	if len(mons) != 2 {
		t.Fatalf("monitors %v, want 2", mons)
	}
	for _, pid := range append(mons, dns...) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("ip", "link", "del", br).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v: %s", br, err, out)
	}
	e.waitProcs("__monitor", 10*time.Second)

	r := e.run(append(p, "down", "-v", "-t", "1")...)
	if r.Code != 0 {
		t.Fatalf("down after the crash: %s", r)
	}
	if left := e.containers(); len(left) != 0 {
		t.Errorf("containers left after down: %v", left)
	}
	if out := e.must("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "ccrash") {
		t.Errorf("network left after down:\n%s", out)
	}
	if out := e.must("volume", "ls", "-q"); out != "" {
		t.Errorf("volumes left after down -v: %q", out)
	}
	for _, l := range testutil.WaitLinksGone(append(veths, br), 5*time.Second) {
		t.Errorf("link %s left after down", l)
	}
	// the published port is free again
	l, err := net.Listen("tcp", hostPort)
	if err != nil {
		t.Errorf("host port %s still taken after down: %v", hostPort, err)
	} else {
		l.Close()
	}
	if ipt, err := exec.Command("iptables-save").Output(); err == nil && strings.Contains(string(ipt), br) {
		t.Errorf("iptables rules for bridge %s left after down", br)
	}
}
