package volume

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
)

// entry is what the copy must keep of one file.
type entry struct {
	mode       uint32
	uid, gid   uint32
	size       int64
	mtime      unix.Timespec
	rdev       uint64
	target     string
	xattrs     map[string]string
	linkedWith string // first path sharing the inode
}

func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := entry{mode: st.Mode, uid: st.Uid, gid: st.Gid, mtime: st.Mtim, rdev: st.Rdev, xattrs: map[string]string{}}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			e.size = st.Size
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			e.target, _ = os.Readlink(p)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 {
			if first, ok := inodes[st.Ino]; ok {
				e.linkedWith = first
			} else {
				inodes[st.Ino] = rel
			}
		}
		names, err := listXattrs(p)
		if err != nil {
			return err
		}
		for _, n := range names {
			v, err := getXattr(p, n)
			if err != nil {
				return err
			}
			e.xattrs[n] = string(v)
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compareTrees(t *testing.T, src, dst string) {
	t.Helper()
	want, got := snapshot(t, src), snapshot(t, dst)
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: missing in the copy", p)
			continue
		}
		if g.mode != w.mode || g.uid != w.uid || g.gid != w.gid || g.size != w.size || g.mtime != w.mtime ||
			g.rdev != w.rdev || g.target != w.target || g.linkedWith != w.linkedWith || len(g.xattrs) != len(w.xattrs) {
			t.Errorf("%s: copy %+v, source %+v", p, g, w)
			continue
		}
		for k, v := range w.xattrs {
			if g.xattrs[k] != v {
				t.Errorf("%s: xattr %s = %q, want %q", p, k, g.xattrs[k], v)
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the copy but not in the source", p)
		}
	}
}

// buildTree makes a source tree with every kind of entry an unprivileged
// user can make, including symlinks that point out of the tree.
func buildTree(t *testing.T, outside string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "d", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "d", "f"), []byte("hello"), 0o640))
	must(os.WriteFile(filepath.Join(src, "suid"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(filepath.Join(src, "suid"), 0o4755|os.ModeSetuid))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o4755))
	must(os.Link(filepath.Join(src, "d", "f"), filepath.Join(src, "hardlink")))
	must(os.Symlink("/etc/passwd", filepath.Join(src, "abs-out")))
	must(os.Symlink(outside, filepath.Join(src, "dir-out")))
	must(os.Symlink("../../..", filepath.Join(src, "d", "rel-out")))
	must(os.Symlink("f", filepath.Join(src, "d", "rel-in")))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o620))
	must(os.Mkdir(filepath.Join(src, "tmp"), 0o755))
	must(unix.Chmod(filepath.Join(src, "tmp"), 0o1777))
	must(os.Chmod(filepath.Join(src, "d"), 0o750))
	if err := unix.Setxattr(filepath.Join(src, "d", "f"), "user.berth", []byte("v1"), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	for _, p := range []string{"d/f", "fifo", "d/sub", "d", "tmp", "suid", ""} {
		must(os.Chtimes(filepath.Join(src, p), old, old.Add(time.Duration(len(p))*time.Hour)))
	}
	ts := []unix.Timespec{unix.NsecToTimespec(old.UnixNano()), unix.NsecToTimespec(old.UnixNano() + 42)}
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, "abs-out"), ts, unix.AT_SYMLINK_NOFOLLOW))
	return src
}

func TestCopyUpFidelity(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := buildTree(t, outside)
	v, err := s.Create(ctx, "vol", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CopyUp(ctx, src, "vol"); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, src, v.Mountpoint)
	if _, err := os.Lstat(filepath.Join(v.Mountpoint, "dir-out", "secret")); err == nil {
		// Lstat through dir-out follows it on the host; the copy itself must be a link.
		if fi, _ := os.Lstat(filepath.Join(v.Mountpoint, "dir-out")); fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatal("a symlink pointing out of the tree was followed")
		}
	}
	// The source's outside directory is untouched.
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Fatalf("outside directory changed: %v", ents)
	}
}

func TestCopyUpOnlyIntoEmpty(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "from-image"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Create(ctx, "vol", CreateOptions{})
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "mine"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyUp(ctx, src, "vol"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(v.Mountpoint)
	if len(ents) != 1 || ents[0].Name() != "mine" {
		t.Fatalf("copy-up touched a non-empty volume: %v", ents)
	}
}

func TestCopyUpSource(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v, _ := s.Create(ctx, "vol", CreateOptions{})
	if err := s.CopyUp(ctx, filepath.Join(t.TempDir(), "missing"), "vol"); err != nil {
		t.Fatalf("missing source: %v", err)
	}
	if empty, _ := s.IsEmpty("vol"); !empty {
		t.Fatal("missing source copied something")
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyUp(ctx, link, "vol"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("symlink source: %v", err)
	}
	if err := s.CopyUp(ctx, t.TempDir(), "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("missing volume: %v", err)
	}
	_ = v
}

func TestCopyUpOwnershipDevicesXattrs(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := newStore(t)
	src := buildTree(t, t.TempDir())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(filepath.Join(src, "blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200))))
	must(os.Link(filepath.Join(src, "null"), filepath.Join(src, "d", "null2")))
	must(os.Lchown(filepath.Join(src, "d", "f"), 1000, 1001))
	must(os.Lchown(filepath.Join(src, "abs-out"), 1000, 1000))
	must(os.Lchown(filepath.Join(src, "d", "sub"), 65534, 65534))
	must(os.Lchown(src, 1234, 4321))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o6755)) // chown would clear it: set again after
	must(os.Lchown(filepath.Join(src, "suid"), 5, 5))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o6755))
	if err := unix.Lsetxattr(filepath.Join(src, "d"), "trusted.berth", []byte("t"), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	}
	v, err := s.Create(ctx, "vol", CreateOptions{})
	must(err)
	must(s.CopyUp(ctx, src, "vol"))
	compareTrees(t, src, v.Mountpoint)
	got := snapshot(t, v.Mountpoint)
	if e := got["."]; e.uid != 1234 || e.gid != 4321 {
		t.Fatalf("volume root owner %d:%d, want 1234:4321", e.uid, e.gid)
	}
	if e := got["suid"]; e.mode&0o7777 != 0o6755 {
		t.Fatalf("set-id bits lost: %o", e.mode)
	}
	if !slices.Contains([]string{"d/null2", "null"}, got["null"].linkedWith+got["d/null2"].linkedWith) {
		t.Fatalf("device hard link not kept: %+v %+v", got["null"], got["d/null2"])
	}
}

func TestCopyUpFromResolvesInsideRoot(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(rootfs, "srv", "data"), 0o755))
	must(os.WriteFile(filepath.Join(rootfs, "srv", "data", "in-image"), []byte("img"), 0o644))
	must(os.Symlink("/srv", filepath.Join(rootfs, "abs")))                             // absolute, inside the root
	must(os.Symlink(outside, filepath.Join(rootfs, "escape")))                         // absolute host path
	must(os.Symlink("../../../../../../../.."+outside, filepath.Join(rootfs, "dots"))) // relative escape
	cases := []struct {
		target string
		want   []string
	}{
		{"/srv/data", []string{"in-image"}},
		{"/abs/data", []string{"in-image"}},
		{"/escape", nil},
		{"/dots", nil},
		{"/missing", nil},
	}
	for i, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			name := "vol" + string(rune('a'+i))
			v, err := s.Create(ctx, name, CreateOptions{})
			must(err)
			must(s.CopyUpFrom(ctx, rootfs, c.target, name))
			ents, _ := os.ReadDir(v.Mountpoint)
			var got []string
			for _, e := range ents {
				got = append(got, e.Name())
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("copied %v, want %v", got, c.want)
			}
		})
	}
}

// Two first mounts at once: the volume gets one source's content, not a mix.
func TestCopyUpConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v, err := s.Create(ctx, "vol", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	srcs := make([]string, n)
	for i := range srcs {
		srcs[i] = t.TempDir()
		for j := range 50 {
			p := filepath.Join(srcs[i], "src"+string(rune('a'+i))+"-"+time.Duration(j).String())
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	errs := make(chan error, n)
	for _, src := range srcs {
		go func() { errs <- s.CopyUp(ctx, src, "vol") }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(v.Mountpoint)
	prefixes := map[string]bool{}
	for _, e := range ents {
		prefixes[e.Name()[:4]] = true
	}
	if len(ents) != 50 || len(prefixes) != 1 {
		t.Fatalf("volume has %d entries from %d sources, want 50 from 1", len(ents), len(prefixes))
	}
}
