package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// example is one examples/ project run the way examples/smoke.sh runs it.
type example struct {
	e       *env
	name    string   // folder under examples/
	dir     string   // its absolute path
	project string   // --project-name
	extra   []string // environment added to every berth and script process
	state   string   // PROBE_STATE file
	links   map[string]bool
}

// repoRoot is the repository's absolute path (tests run in e2e/).
func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newExample gives the example its own root with its images made by the
// example scripts (script: "mkbusybox.sh" or "images.sh").
func newExample(t *testing.T, name, project, script string, extra ...string) *example {
	t.Helper()
	e := newEnv(t)
	x := &example{e: e, name: name, dir: filepath.Join(repoRoot(t), "examples", name), project: project,
		extra: extra, state: filepath.Join(t.TempDir(), "probe-state"), links: map[string]bool{}}
	x.script(10*time.Minute, filepath.Join(repoRoot(t), "examples", script), x.e.bin, "--root", x.e.root)
	return x
}

// environ is the process environment plus the example's extras; go is put
// on PATH for images.sh when the test runner did not have it there.
func (x *example) environ() []string {
	env := append(os.Environ(), x.extra...)
	if _, err := exec.LookPath("go"); err != nil {
		env = append(env, "PATH="+os.Getenv("PATH")+":/usr/local/go/bin")
	}
	return env
}

// script runs a helper script and fails the test unless it exits 0.
func (x *example) script(d time.Duration, path string, args ...string) string {
	t := x.e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(x.environ(), "PROBE_STATE="+x.state)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	x.e.noteIDs()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(path), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// cmd is berth with the example's global flags. The project name goes by
// its long form: berth parses a "-p" before "run" as run's --publish.
func (x *example) cmd() []string {
	return []string{x.e.bin, "--root", x.e.root, "--project-name", x.project, "--project-directory", x.dir}
}

// run runs berth on the example's project.
func (x *example) run(args ...string) result {
	t := x.e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := x.cmd()
	cmd := exec.CommandContext(ctx, c[0], append(c[1:], args...)...)
	cmd.Env = x.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("berth %v: %v", args, err)
	}
	x.e.noteIDs()
	return r
}

func (x *example) must(args ...string) string {
	x.e.t.Helper()
	r := x.run(args...)
	if r.Code != 0 {
		x.e.t.Fatalf("berth --project-name %s %s: %s", x.project, strings.Join(args, " "), r)
	}
	return r.Stdout
}

// up brings the project up with --wait and notes its bridge and the links
// on it, for the leak check after down -v.
func (x *example) up() {
	t := x.e.t
	t.Helper()
	x.must("--progress", "plain", "up", "-d", "--wait", "--wait-timeout", "120")
	nw := x.project + "_default"
	br := x.e.inspectNet(nw, `{{index .Options "com.docker.network.bridge.name"}}`)
	if br == "" {
		t.Fatalf("network %s has no bridge name", nw)
	}
	x.links[br] = true
	ents, _ := os.ReadDir("/sys/class/net/" + br + "/brif")
	for _, de := range ents {
		x.links[de.Name()] = true
	}
	if len(ents) == 0 {
		t.Errorf("no link attached to bridge %s of %s", br, nw)
	}
}

func (e *env) inspectNet(name, tmpl string) string {
	e.t.Helper()
	return strings.TrimSpace(e.must("network", "inspect", "-f", tmpl, name))
}

// probe runs the example's probe.sh with the project's berth command.
func (x *example) probe() {
	x.e.t.Helper()
	x.script(3*time.Minute, filepath.Join(x.dir, "probe.sh"), x.cmd()...)
}

// downAll removes the project with its volumes and checks that nothing of
// it is left: containers, volumes, networks, its bridge and veths (mounts,
// processes and netns are checked by the env's cleanup).
func (x *example) downAll() {
	t := x.e.t
	t.Helper()
	x.must("down", "-v", "--remove-orphans")
	if out := x.must("ps", "-a", "-q"); out != "" {
		t.Errorf("containers left after down -v: %q", out)
	}
	for _, kind := range []string{"volume", "network"} {
		out := x.e.must(kind, "ls", "--format", "{{.Name}}")
		for _, n := range strings.Fields(out) {
			if strings.HasPrefix(n, x.project+"_") {
				t.Errorf("%s %s left after down -v", kind, n)
			}
		}
	}
	var links []string
	for l := range x.links {
		links = append(links, l)
	}
	for _, l := range testutil.WaitLinksGone(links, 5*time.Second) {
		t.Errorf("link %s (the bridge of %s_default or a veth on it) left after down -v", l, x.project)
	}
}

// hasVolume reports whether the project's volume vol exists.
func (x *example) hasVolume(vol string) bool {
	x.e.t.Helper()
	for _, n := range strings.Fields(x.e.must("volume", "ls", "-q")) {
		if n == x.project+"_"+vol {
			return true
		}
	}
	return false
}

// smoke is examples/smoke.sh's sequence: up -> probe -> down -> up ->
// probe (the volume kept the data) -> down -v -> no leaks. probe nil runs
// the example's probe.sh.
func (x *example) smoke(volume string, probe func(round int)) {
	t := x.e.t
	t.Helper()
	if probe == nil {
		probe = func(int) { x.probe() }
	}
	for round := 1; round <= 2; round++ {
		x.up()
		probe(round)
		if round == 1 {
			x.must("down")
			if !x.hasVolume(volume) {
				t.Fatalf("volume %s_%s gone after down without -v", x.project, volume)
			}
		}
	}
	x.downAll()
	if x.hasVolume(volume) {
		t.Errorf("volume %s_%s left after down -v", x.project, volume)
	}
}

// getBody fetches a loopback URL and returns its body; a status other
// than 200 is an error.
func getBody(url string) (string, error) {
	resp, err := httpGet(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), errors.New(resp.Status)
	}
	return string(b), err
}

// TestExampleHello: examples/hello (its port 18080 is fixed: this is the
// only test that uses it). The host reaches web on the published port,
// client reaches it by name and alias, and a file written into the site
// volume is still served after down and up.
func TestExampleHello(t *testing.T) {
	x := newExample(t, "hello", "ehello", "mkbusybox.sh")
	x.smoke("site", func(round int) {
		if body, err := getBody("http://127.0.0.1:18080/"); err != nil || body != "hello from berth\n" {
			t.Fatalf("GET 127.0.0.1:18080: %q, %v", body, err)
		}
		for _, host := range []string{"web", "www"} {
			out := x.must("exec", "-T", "client", "timeout", "3", "wget", "-qO-", "http://"+host+":8080/")
			if out != "hello from berth\n" {
				t.Errorf("client GET %s:8080: %q", host, out)
			}
		}
		if round == 1 {
			x.must("exec", "-T", "web", "sh", "-c", "echo kept > /www/kept.txt")
			return
		}
		if body, err := getBody("http://127.0.0.1:18080/kept.txt"); err != nil || body != "kept\n" {
			t.Errorf("the site volume lost kept.txt across down/up: %q, %v", body, err)
		}
	})
}

// TestExampleProfiles: examples/profiles through its probe.sh (replicas,
// a one-off run, --profile debug).
func TestExampleProfiles(t *testing.T) {
	x := newExample(t, "profiles", "eprofiles", "mkbusybox.sh")
	// profiles declares no volume: the round trip checks the rest
	for round := 1; round <= 2; round++ {
		x.up()
		x.probe()
		if round == 1 {
			x.must("down")
		}
	}
	x.downAll()
}

// TestExampleApp: examples/app (Redis from a debootstrapped rootfs, a Go
// web service) on its own port: the hit counter survives down and up.
func TestExampleApp(t *testing.T) {
	_, errDeb := exec.LookPath("debootstrap")
	cache := os.Getenv("BERTH_EXAMPLES_CACHE")
	if cache == "" {
		cache = "/var/cache/berth-examples"
	}
	if _, err := os.Stat(filepath.Join(cache, "app-redis.tar")); err != nil && errDeb != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("examples/app needs debootstrap (apt-get install debootstrap) or a cached %s/app-redis.tar", cache)
		}
		t.Skipf("examples/app: no debootstrap and no cached %s/app-redis.tar (apt-get install debootstrap)", cache)
	}
	x := newExample(t, "app", "eapp", "images.sh", "APP_WEB_PORT="+freePort(t))
	x.smoke("data", nil)
}
