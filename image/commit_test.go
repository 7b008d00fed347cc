package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/testutil"
)

func TestCommitAddsLayerOnParent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	parent := importBusybox(t, s, "base", "ENV PATH=/bin", `CMD ["sh"]`)
	upper := t.TempDir()
	os.MkdirAll(filepath.Join(upper, "srv"), 0o755)
	os.WriteFile(filepath.Join(upper, "srv/hello"), []byte("hello\n"), 0o640)
	img, err := s.Commit(ctx, upper, "base", CommitOptions{Ref: "derived:1", Author: "me", Message: "add hello",
		Changes: []string{`CMD ["cat", "/srv/hello"]`, "WORKDIR /srv"}, CreatedBy: "sh -c echo"})
	if err != nil {
		t.Fatal(err)
	}
	if img.Parent != parent.ID || img.Author != "me" || img.Comment != "add hello" {
		t.Errorf("parent %s author %q comment %q", img.Parent, img.Author, img.Comment)
	}
	if len(img.Layers) != 2 || img.Layers[0] != parent.Layers[0] {
		t.Errorf("layers %v", img.Layers)
	}
	if !slices.Equal(img.Config.Env, []string{"PATH=/bin"}) || !slices.Equal(img.Config.Cmd, []string{"cat", "/srv/hello"}) || img.Config.WorkingDir != "/srv" {
		t.Errorf("config %+v", img.Config)
	}
	if h := img.History; len(h) != 2 || h[1].CreatedBy != "sh -c echo" || h[1].Size != 6 {
		t.Errorf("history %+v", h)
	}
	dirs, err := s.Layers(ctx, "derived:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 {
		t.Fatalf("dirs %v", dirs)
	}
	if fi, err := os.Stat(filepath.Join(dirs[0], "srv/hello")); err != nil || fi.Mode() != 0o640 {
		t.Errorf("top snapshot srv/hello: %v %v", fi, err)
	}
	if snaps := entries(t, filepath.Join(s.root, "snapshots")); len(snaps) != 2 {
		t.Errorf("snapshots %v, want base + new", snaps)
	}
	// Removing the parent keeps everything the child needs.
	if _, err := s.Remove(ctx, "base", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Layers(ctx, "derived:1"); err != nil {
		t.Errorf("child lost its layers: %v", err)
	}
}

func TestCommitWithoutParent(t *testing.T) {
	s := newStore(t)
	upper := t.TempDir()
	os.WriteFile(filepath.Join(upper, "f"), []byte("x"), 0o644)
	img, err := s.Commit(context.Background(), upper, "", CommitOptions{Ref: "scratchy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 1 || img.Parent != "" || img.Size != 1 {
		t.Errorf("%+v", img)
	}
}

func TestCommitConvertsOverlayWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := newStore(t)
	importBusybox(t, s, "base")
	upper := t.TempDir()
	os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
	if err := unix.Mknod(filepath.Join(upper, "etc/group"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(upper, "home"), 0o755)
	if err := unix.Setxattr(filepath.Join(upper, "home"), opaqueXattr, []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(upper, "home/new"), []byte("n"), 0o644)
	os.Chown(filepath.Join(upper, "home/new"), 1000, 1000)
	img, err := s.Commit(ctx, upper, "base", CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := os.ReadFile(s.blobPath(img.Layers[1]))
	if err != nil {
		t.Fatal(err)
	}
	hdrs, _ := readTar(t, layer)
	var names []string
	for n := range hdrs {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"etc/", "etc/.wh.group", "home/", "home/.wh..wh..opq", "home/new"}
	if !slices.Equal(names, want) {
		t.Errorf("layer entries %v, want %v", names, want)
	}
	if h := hdrs["home/new"]; h == nil || h.Uid != 1000 {
		t.Errorf("owner not kept: %+v", h)
	}
	for k := range hdrs["home/"].PAXRecords {
		if strings.Contains(k, "overlay") {
			t.Errorf("overlay xattr leaked into the layer: %s", k)
		}
	}
	dirs, err := s.Layers(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dirs[0], "etc/group"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("whiteout not restored in snapshot: %o %v", st.Mode, err)
	}
}

func TestExportDir(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	if err := Unpack(ctx, bytes.NewReader(busybox(t)), src); err != nil {
		t.Fatal(err)
	}
	os.Link(filepath.Join(src, "etc/passwd"), filepath.Join(src, "etc/passwd-link"))
	var buf bytes.Buffer
	if err := ExportDir(ctx, &buf, src); err != nil {
		t.Fatal(err)
	}
	hdrs, bodies := readTar(t, buf.Bytes())
	bb, _ := os.ReadFile(filepath.Join(src, "bin/busybox"))
	if bodies["bin/busybox"] != string(bb) || hdrs["bin/busybox"].Mode&0o111 == 0 {
		t.Error("bin/busybox not exported intact")
	}
	if h := hdrs["bin/sh"]; h == nil || h.Linkname != "/bin/busybox" {
		t.Errorf("bin/sh: %+v", h)
	}
	if h := hdrs["etc/passwd-link"]; h == nil || h.Linkname != "etc/passwd" {
		t.Errorf("hard link not kept: %+v", h)
	}
	dst := t.TempDir()
	if err := Unpack(ctx, bytes.NewReader(buf.Bytes()), dst); err != nil {
		t.Fatalf("exported tar does not unpack: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "etc/group")); string(got) != testutil.Group {
		t.Errorf("etc/group %q", got)
	}
}
