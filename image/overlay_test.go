package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/testutil"
)

// mountOverlay mounts layers (top first) read-only plus, if upper is set,
// a writable upper dir, and unmounts at the end of the test.
func mountOverlay(t *testing.T, layers []string, upper string) string {
	t.Helper()
	root := testutil.TempRoot(t)
	merged := filepath.Join(root, "merged")
	os.MkdirAll(merged, 0o755)
	opts := "lowerdir=" + strings.Join(layers, ":")
	if upper != "" {
		work := filepath.Join(root, "work")
		os.MkdirAll(work, 0o755)
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged
}

// TestOverlayOfCommittedImage runs the whole cycle a container goes
// through: mount an image's layers with an upper dir, change files (delete
// one, replace a directory), commit the upper dir, and mount the new image:
// it shows the changes, including the deletions.
func TestOverlayOfCommittedImage(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s, err := New(Options{Root: filepath.Join(testutil.TempRoot(t), "image")})
	if err != nil {
		t.Fatal(err)
	}
	base := importBusybox(t, s, "base")
	layers, err := s.Layers(ctx, base.ID)
	if err != nil {
		t.Fatal(err)
	}
	upper := t.TempDir()
	merged := mountOverlay(t, layers, upper)
	if err := os.Remove(filepath.Join(merged, "etc/group")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(merged, "home")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(merged, "home/fresh"), 0o755)
	os.WriteFile(filepath.Join(merged, "etc/motd"), []byte("hi\n"), 0o644)
	unix.Unmount(merged, 0)

	img, err := s.Commit(ctx, upper, base.ID, CommitOptions{Ref: "child"})
	if err != nil {
		t.Fatal(err)
	}
	layers, err = s.Layers(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	view := mountOverlay(t, layers, "")
	if _, err := os.Lstat(filepath.Join(view, "etc/group")); !os.IsNotExist(err) {
		t.Errorf("deleted etc/group visible: %v", err)
	}
	if names := entries(t, filepath.Join(view, "home")); len(names) != 1 || names[0] != "fresh" {
		t.Errorf("home = %v, want only fresh (opaque dir)", names)
	}
	if data, _ := os.ReadFile(filepath.Join(view, "etc/motd")); string(data) != "hi\n" {
		t.Errorf("etc/motd %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(view, "etc/passwd")); !bytes.HasPrefix(data, []byte("root:")) {
		t.Errorf("lower etc/passwd lost: %q", data)
	}

	// The export of the merged view has the same story.
	var buf bytes.Buffer
	if err := ExportDir(ctx, &buf, view); err != nil {
		t.Fatal(err)
	}
	hdrs, _ := readTar(t, buf.Bytes())
	if hdrs["etc/group"] != nil || hdrs["home/user/"] != nil || hdrs["etc/motd"] == nil || hdrs["bin/busybox"] == nil {
		t.Errorf("export of merged view wrong: group=%v user=%v motd=%v", hdrs["etc/group"] != nil, hdrs["home/user/"] != nil, hdrs["etc/motd"] != nil)
	}
}
