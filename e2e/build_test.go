package e2e

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name -> content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuild(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM $BASE
ARG GREETING=hello
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY msg.txt data/
COPY secret.txt ./
RUN echo "$GREETING from run" > run.txt && echo building
ADD files.tar /unpacked/
CMD ["sh", "-c", "cat data/msg.txt run.txt; pwd; echo $APP_HOME"]
`,
		"msg.txt":       "copied\n",
		"secret.txt":    "must not be copied\n",
		".dockerignore": "secret.txt\n",
	})
	// The COPY of an ignored file fails like Docker's (not found).
	r := e.run("image", "build", "-t", "app:1", dir)
	if r.Code == 0 || !strings.Contains(r.Stderr, "secret.txt") {
		t.Fatalf("build with an ignored COPY source: %s", r)
	}
	writeFiles(t, dir, map[string]string{"Dockerfile": strings.Replace(readFile(t, filepath.Join(dir, "Dockerfile")), "COPY secret.txt ./\n", "", 1)})
	makeTar(t, filepath.Join(dir, "files.tar"), map[string]string{"inner/a.txt": "from tar\n"})

	r = e.run("image", "build", "-t", "app:1", "--build-arg", "GREETING=hi", "--label", "team=core", dir)
	if r.Code != 0 {
		t.Fatalf("build: %s", r)
	}
	for _, want := range []string{"[stage-0 1/", "RUN echo \"$GREETING from run\"", "building", "writing image sha256:", "naming to app:1"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("build output lacks %q:\n%s", want, r.Stderr)
		}
	}
	if r.Stdout != "" {
		t.Errorf("build printed on stdout without -q: %q", r.Stdout)
	}
	out := e.must("container", "run", "--rm", "app:1")
	if want := "copied\nhi from run\n/srv/app\n/srv/app\n"; out != want {
		t.Errorf("run of the built image printed %q, want %q", out, want)
	}
	if out := e.must("container", "run", "--rm", "app:1", "cat", "/unpacked/inner/a.txt"); out != "from tar\n" {
		t.Errorf("ADD of a tar: %q", out)
	}
	if got := strings.TrimSpace(e.must("image", "inspect", "-f", `{{index .Config.Labels "team"}}`, "app:1")); got != "core" {
		t.Errorf("label %q, want core", got)
	}
	// -q prints only the id; no intermediate image stays.
	id := strings.TrimSpace(e.must("image", "build", "-q", "-t", "app:2", dir))
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("build -q printed %q", id)
	}
	if ids := strings.Fields(e.must("image", "ls", "-aq")); len(ids) != 3 {
		t.Errorf("images after two builds: %v, want busybox, app:1 and app:2", ids)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("build left containers: %q", out)
	}
}

func TestBuildMultiStage(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": `FROM busybox AS builder
RUN mkdir /out && echo compiled > /out/bin.txt

FROM busybox AS unused
RUN exit 7

FROM scratch AS final
COPY --from=builder /out/bin.txt /app/
COPY --from=busybox /bin/busybox /bin/sh
CMD ["/bin/sh", "-c", "read l < /app/bin.txt; echo $l"]

FROM final AS test
RUN echo tested > /app/test.txt
`,
	})
	e.must("image", "build", "--target", "final", "-t", "ms", dir)
	if out := e.must("container", "run", "--rm", "ms"); out != "compiled\n" {
		t.Errorf("multi-stage image printed %q", out)
	}
	if r := e.run("container", "run", "--rm", "ms", "/bin/sh", "-c", "test -e /app/test.txt"); r.Code == 0 {
		t.Errorf("--target final ran the later stage")
	}
	if r := e.run("image", "build", "--target", "nosuch", dir); r.Code == 0 || !strings.Contains(r.Stderr, "nosuch") {
		t.Errorf("unknown target: %s", r)
	}
}

func TestBuildFailingRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /made\nRUN exit 3\n"})
	before := e.must("image", "ls", "-aq")
	r := e.run("image", "build", "-t", "bad", dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "The command '/bin/sh -c exit 3' returned a non-zero code: 3") {
		t.Errorf("failing RUN: %s", r)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("failed build left containers: %q", out)
	}
	if after := e.must("image", "ls", "-aq"); after != before {
		t.Errorf("failed build left images: %q, before %q", after, before)
	}
	entries, _ := os.ReadDir(e.root)
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), "berth-build-") {
			t.Errorf("failed build left %s", de.Name())
		}
	}
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nONBUILD RUN true\n"})
	if r := e.run("image", "build", dir); r.Code == 0 || !strings.Contains(r.Stderr, "line 2") || !strings.Contains(r.Stderr, "ONBUILD") {
		t.Errorf("unsupported instruction: %s", r)
	}
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nADD http://127.0.0.1:1/x /x\n"})
	if r := e.run("image", "build", dir); r.Code == 0 || !strings.Contains(r.Stderr, "remote") {
		t.Errorf("ADD of a URL: %s", r)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeTar writes a tar of name -> content at p.
func makeTar(t *testing.T, p string, files map[string]string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

const composeBuildYAML = `services:
  app:
    build:
      context: ./app
      args:
        VERSION: "1"
      labels:
        built.by: berth
  named:
    image: cbuild-named:dev
    build:
      context: ./app
      dockerfile: Other.Dockerfile
      target: small
`

// TestBuildCompose: up -d builds the missing images of services with
// build: and starts them; up --build rebuilds after a Dockerfile change and
// recreates the container; berth build builds one service.
func TestBuildCompose(t *testing.T) {
	e := newEnv(t)
	dir := composeDir(t, "cbuild", composeBuildYAML)
	writeFiles(t, filepath.Join(dir, "app"), map[string]string{
		"Dockerfile": "FROM busybox\nARG VERSION\nRUN echo v$VERSION > /version\n" +
			`CMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]` + "\n",
		"Other.Dockerfile": "FROM busybox AS small\nRUN echo small > /kind\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\nFROM small\nRUN exit 9\n",
	})
	p := []string{"--project-directory", dir, "--progress", "plain"}
	if r := e.run(append(p, "up", "-d")...); r.Code != 0 {
		t.Fatalf("up -d: %s", r)
	}
	if out := e.must("container", "exec", "cbuild-app-1", "cat", "/version"); out != "v1\n" {
		t.Errorf("/version in the built service: %q", out)
	}
	if out := e.must("container", "exec", "cbuild-named-1", "cat", "/kind"); out != "small\n" {
		t.Errorf("/kind in the target-built service: %q", out)
	}
	if got := strings.TrimSpace(e.must("image", "inspect", "-f", `{{index .Config.Labels "built.by"}}`, "cbuild-app")); got != "berth" {
		t.Errorf("build label %q", got)
	}
	oldID := e.inspect("cbuild-app-1", "{{.Id}}")
	// A plain up does not rebuild; up --build does and recreates.
	writeFiles(t, filepath.Join(dir, "app"), map[string]string{
		"Dockerfile": "FROM busybox\nARG VERSION\nRUN echo v$VERSION-changed > /version\n" +
			`CMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]` + "\n",
	})
	e.must(append(p, "up", "-d")...)
	if out := e.must("container", "exec", "cbuild-app-1", "cat", "/version"); out != "v1\n" {
		t.Errorf("plain up rebuilt: %q", out)
	}
	if r := e.run(append(p, "up", "-d", "--build")...); r.Code != 0 {
		t.Fatalf("up --build: %s", r)
	}
	if out := e.must("container", "exec", "cbuild-app-1", "cat", "/version"); out != "v1-changed\n" {
		t.Errorf("/version after up --build: %q", out)
	}
	if e.inspect("cbuild-app-1", "{{.Id}}") == oldID {
		t.Errorf("up --build kept the old container")
	}
	// berth build SERVICE with --build-arg; a failing build exits 1.
	e.must(append(p, "build", "--build-arg", "VERSION=2", "app")...)
	if out := e.must("container", "run", "--rm", "cbuild-app", "cat", "/version"); out != "v2-changed\n" {
		t.Errorf("/version after build --build-arg: %q", out)
	}
	writeFiles(t, filepath.Join(dir, "app"), map[string]string{"Dockerfile": "FROM busybox\nRUN exit 4\n"})
	if r := e.run(append(p, "build", "app")...); r.Code != 1 || !strings.Contains(r.Stderr, "returned a non-zero code: 4") {
		t.Errorf("failing compose build: %s", r)
	}
	e.must(append(p, "down")...)
}
