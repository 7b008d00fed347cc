package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 2, test 7: save -> rm -> load keeps the id; hostile archives fail.
func TestSaveLoad(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.must("image", "inspect", "-f", "{{.Id}}", "busybox"))
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("image", "save", "-o", archive, "busybox")
	e.must("image", "rm", "busybox")
	if r := e.run("image", "inspect", "busybox"); r.Code == 0 {
		t.Fatal("image still there after rm")
	}
	e.must("image", "load", "-i", archive)
	if got := strings.TrimSpace(e.must("image", "inspect", "-f", "{{.Id}}", "busybox")); got != id {
		t.Errorf("id after load %q, want %q", got, id)
	}
	if r := e.run("container", "run", "--rm", "busybox", "echo", "ok"); r.Stdout != "ok\n" {
		t.Errorf("run after load: %s", r)
	}
}

func TestHostileArchive(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(t.TempDir(), "victim")
	rel, _ := filepath.Rel("/", outside)
	for name, build := range map[string]func(tw *tar.Writer){
		"dotdot": func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "../../../../../../../../" + rel, Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
			tw.Write([]byte("pwnd"))
		},
		"symlink": func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "esc", Linkname: filepath.Dir(outside), Typeflag: tar.TypeSymlink})
			tw.WriteHeader(&tar.Header{Name: "esc/victim", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
			tw.Write([]byte("pwnd"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			build(tw)
			tw.Close()
			r := e.runCtx(t.Context(), b.Bytes(), "image", "import", "-", "hostile-"+name)
			if r.Code == 0 {
				t.Errorf("hostile archive imported: %s", r)
			}
			if _, err := os.Stat(outside); err == nil {
				t.Errorf("archive wrote %s", outside)
			}
		})
	}
}

// Issue 2, test 8: named volumes keep data and get the image's content.
func TestNamedVolume(t *testing.T) {
	e := newEnv(t)
	e.must("container", "run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	if out := e.must("container", "run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/f"); out != "kept\n" {
		t.Errorf("second container reads %q", out)
	}
	// First mount of an empty volume copies the image's /etc into it.
	if out := e.must("container", "run", "--rm", "-v", "etcvol:/etc", "busybox", "true"); out != "" {
		t.Errorf("unexpected output %q", out)
	}
	out := e.must("container", "run", "--rm", "-v", "etcvol:/mnt", "busybox", "cat", "/mnt/passwd")
	if !strings.HasPrefix(out, "root:x:0:0:") {
		t.Errorf("copy-up: /etc/passwd in the volume is %q", out)
	}
	if r := e.run("volume", "rm", "data"); r.Code != 0 {
		t.Errorf("volume rm after the containers are gone: %s", r)
	}
	// rm -v removes anonymous volumes, never named ones.
	e.must("container", "run", "-d", "--name", "user", "-v", "busy:/b", "-v", "/anon", "busybox", "sleep", "600")
	anon := e.inspect("user", `{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}`)
	if len(anon) != 64 {
		t.Fatalf("anonymous volume name %q", anon)
	}
	e.must("container", "rm", "-f", "-v", "user")
	if r := e.run("volume", "inspect", anon); r.Code == 0 {
		t.Errorf("rm -v kept the anonymous volume %s", anon)
	}
	if r := e.run("volume", "inspect", "busy"); r.Code != 0 {
		t.Errorf("rm -v removed the named volume: %s", r)
	}
}

// A bind mount with a missing source fails before anything is made.
func TestBindSourceMissing(t *testing.T) {
	e := newEnv(t)
	r := e.run("container", "run", "--rm", "-v", "/nonexistent/berth-e2e:/x", "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, `bind source path "/nonexistent/berth-e2e" does not exist`) {
		t.Errorf("missing bind source: %s", r)
	}
	if out := e.must("container", "ps", "-aq"); out != "" {
		t.Errorf("failed create left %q", out)
	}
}

// A volume in use by a container, even a stopped one, cannot be removed.
func TestVolumeInUse(t *testing.T) {
	e := newEnv(t)
	e.must("container", "create", "--name", "holder", "-v", "held:/h", "busybox", "true")
	if r := e.run("volume", "rm", "held"); r.Code == 0 {
		t.Errorf("removed a volume in use (is cmd/berth's volumeInUse wired to the containers?)")
	}
	e.must("container", "rm", "holder")
	e.must("volume", "rm", "held")
}

// A create that fails late (in the runtime) undoes the volumes and the
// netns it made; a named volume that existed before stays.
func TestCreateRollback(t *testing.T) {
	e := newEnv(t)
	e.must("volume", "create", "kept")
	r := e.run("container", "run", "--rm", "-v", "made:/x", "-v", "kept:/k", "-v", "/anon", "--cap-add", "NOPE", "busybox", "true")
	if r.Code != 125 || !strings.Contains(r.Stderr, `"NOPE"`) {
		t.Fatalf("bad capability: %s", r)
	}
	if out := strings.Fields(e.must("volume", "ls", "-q")); len(out) != 1 || out[0] != "kept" {
		t.Errorf("volumes after the failed create: %q, want only kept", out)
	}
	if leaks := e.leaks(); len(leaks) > 0 {
		t.Errorf("failed create left %v", leaks)
	}
}

// An image a container uses, even a stopped one, cannot be removed
// without -f.
func TestImageInUse(t *testing.T) {
	e := newEnv(t)
	e.must("container", "create", "--name", "user", "busybox", "true")
	if r := e.run("image", "rm", "busybox"); r.Code == 0 {
		t.Errorf("removed an image in use: %s", r)
	}
	e.must("container", "rm", "user")
	e.must("image", "rm", "busybox")
}
