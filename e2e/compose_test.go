package e2e

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// composeDir writes a compose project into a folder named after the test
// (the project name) and returns it.
func composeDir(t *testing.T, name, yaml string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const composeOrderYAML = `services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
    volumes: [data:/data]
  init:
    image: busybox
    command: ["sh", "-c", "echo seeded > /data/seed"]
    volumes: [data:/data]
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      LEVEL: ${LEVEL:-one}
    depends_on:
      db: {condition: service_healthy}
      init: {condition: service_completed_successfully}
volumes:
  data: {}
`

// TestComposeUpOrderRecreateDown: up -d starts web only after db is healthy
// and init completed; a config change recreates only the changed service;
// down -v removes everything.
func TestComposeUpOrderRecreateDown(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "corder", composeOrderYAML)
	p := []string{"--project-directory", dir, "--progress", "plain"}
	up := e.run(append(p, "up", "-d")...)
	if up.Code != 0 {
		t.Fatalf("up: %s", up)
	}
	// the progress shows the gates in order
	for _, want := range []string{"Container corder-db-1  Healthy", "Container corder-init-1  Exited", "Container corder-web-1  Started"} {
		if !strings.Contains(up.Stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, up.Stderr)
		}
	}
	if strings.Index(up.Stderr, "corder-db-1  Healthy") > strings.Index(up.Stderr, "corder-web-1  Started") {
		t.Errorf("web started before db was healthy:\n%s", up.Stderr)
	}
	if got := e.inspect("corder-web-1", "{{.State.Status}}"); got != "running" {
		t.Fatalf("web is %s", got)
	}
	labels := e.inspect("corder-web-1", `{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}}`)
	if labels != "corder web 1" {
		t.Errorf("labels: %q", labels)
	}
	dbID, webID := e.inspect("corder-db-1", "{{.Id}}"), e.inspect("corder-web-1", "{{.Id}}")

	// a second up changes nothing
	e.must(append(p, "up", "-d")...)
	if e.inspect("corder-web-1", "{{.Id}}") != webID || e.inspect("corder-db-1", "{{.Id}}") != dbID {
		t.Error("an unchanged up recreated containers")
	}
	// a changed environment recreates web only
	os.Setenv("LEVEL", "two")
	defer os.Unsetenv("LEVEL")
	e.must(append(p, "up", "-d")...)
	if e.inspect("corder-web-1", "{{.Id}}") == webID {
		t.Error("changed web was not recreated")
	}
	if e.inspect("corder-db-1", "{{.Id}}") != dbID {
		t.Error("unchanged db was recreated")
	}
	if out := e.must("--project-directory", dir, "ps", "--services"); out != "db\nweb\n" {
		t.Errorf("ps --services: %q", out)
	}
	top := strings.Split(e.must("--project-directory", dir, "top", "web"), "\n")
	if len(top) < 4 || top[0] != "corder-web-1" || !slices.Equal(strings.Fields(top[1]), topTitles) ||
		!strings.HasSuffix(strings.Join(top[2:], "\n"), "sleep 3600\n\n") {
		t.Errorf("top web: want the name, the %v header, then the processes down to sleep 3600:\n%s", topTitles, strings.Join(top, "\n"))
	}
	e.must(append(p, "down", "-v")...)
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("containers left after down: %q", out)
	}
	if out := e.must("volume", "ls", "-q"); strings.Contains(out, "corder_data") {
		t.Errorf("volume left after down -v: %q", out)
	}
	if out := e.must("network", "ls", "-q", "--filter", "name=corder_default"); out != "" {
		t.Errorf("network left after down: %q", out)
	}
}

// TestComposeFailingDependency: an init that fails stops up with a message
// naming it, and its dependent never starts (and is not left created).
func TestComposeFailingDependency(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cfail", `services:
  init:
    image: busybox
    command: ["sh", "-c", "exit 3"]
  app:
    image: busybox
    command: ["sleep", "3600"]
    depends_on:
      init: {condition: service_completed_successfully}
`)
	r := e.run("--project-directory", dir, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, `service "init" didn't complete successfully: exit 3`) {
		t.Fatalf("up: %s", r)
	}
	// app was created early, never started, and rolled back
	if r := e.run("container", "inspect", "cfail-app-1"); r.Code == 0 {
		t.Errorf("app exists after the failed up: %s", r)
	}
	e.must("--project-directory", dir, "down")
}

// TestComposeInvalidFileCreatesNothing: a file error names file and line
// and nothing is created.
func TestComposeInvalidFileCreatesNothing(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cbad", "services:\n  app:\n    image: busybox\n    ports: {bad: 1}\n")
	r := e.run("--project-directory", dir, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, filepath.Join(dir, "compose.yaml")+":4") {
		t.Fatalf("up: %s", r)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("containers created: %q", out)
	}
}

// TestComposeLogsAndRun: logs carry service prefixes; run executes a
// one-off command; exec runs in the service's container.
func TestComposeLogsAndRun(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "clogs", `services:
  app:
    image: busybox
    command: ["sh", "-c", "echo hello from app; trap 'exit 0' TERM; sleep 3600 & wait"]
`)
	p := []string{"--project-directory", dir}
	e.must(append(p, "up", "-d")...)
	e.waitFor("app's log", 10*time.Second, func() bool {
		return strings.Contains(e.must(append(p, "logs", "--no-color")...), "app-1  | hello from app")
	})
	if out := e.must(append(p, "run", "--rm", "-T", "app", "echo", "one-off")...); out != "one-off\n" {
		t.Errorf("run: %q", out)
	}
	if r := e.run(append(p, "exec", "-T", "app", "sh", "-c", "exit 7")...); r.Code != 7 {
		t.Errorf("exec exit code %d", r.Code)
	}
	e.must(append(p, "down")...)
}

// TestComposeServiceDNS: a client reaches a service by its name and its
// alias; both replicas of a scaled service answer its name.
func TestComposeServiceDNS(t *testing.T) {
	e := newEnv(t)
	octet := 1 + rand.IntN(254)
	dir := composeDir(t, "cdns", `services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    scale: 2
    networks:
      default:
        aliases: [www]
  client:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [web]
networks:
  default:
    ipam:
      config:
        - subnet: 172.31.`+strconv.Itoa(octet)+`.0/24
`)
	// an explicit (random) subnet: on a host shared with other berth roots
	// the allocator has been seen to hand out a subnet another root's bridge
	// routes, and lookups then reach the wrong DNS server (network matter)
	p := []string{"--project-directory", dir}
	e.must(append(p, "up", "-d")...)
	if gw := e.inspect("cdns-client-1", "{{(index .NetworkSettings.Networks \"cdns_default\").Gateway}}"); gw != "172.31."+strconv.Itoa(octet)+".1" {
		t.Errorf("ipam subnet not used: gateway %q", gw)
	}
	for _, name := range []string{"web", "www", "cdns-web-2"} {
		out := e.must(append(p, "exec", "-T", "client", "sh", "-c", "timeout 5 wget -qO- http://"+name+":8080/")...)
		if !strings.HasPrefix(out, "cdns-web-") {
			t.Errorf("%s answered %q", name, out)
		}
	}
	out := e.must(append(p, "exec", "-T", "client", "nslookup", "web")...)
	if strings.Count(out, "Address: 172.31."+strconv.Itoa(octet)+".") < 2 {
		t.Errorf("web does not resolve to both replicas:\n%s", out)
	}
	e.must(append(p, "down", "-t", "1")...)
}
