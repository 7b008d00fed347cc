package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
)

// outsideDir is a directory next to the target that a hostile archive tries
// to reach; it holds "secret" with known content.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func assertUntouched(t *testing.T, dir string) {
	t.Helper()
	names := entries(t, dir)
	if len(names) != 1 || names[0] != "secret" {
		t.Errorf("outside dir changed: %v", names)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "secret")); string(data) != "original" {
		t.Errorf("outside file changed: %q", data)
	}
}

func hostileArchives(out string) map[string][]ent {
	up := strings.Repeat("../", 20) + strings.TrimPrefix(out, "/")
	return map[string][]ent{
		"dotdot":                {{name: "../evil", body: "x"}},
		"dotdot-deep":           {{name: "a/", typ: tar.TypeDir}, {name: "a/../../evil", body: "x"}},
		"absolute":              {{name: out + "/evil", body: "x"}},
		"symlink-abs-escape":    {{name: "link", typ: tar.TypeSymlink, link: out}, {name: "link/evil", body: "x"}},
		"symlink-rel-escape":    {{name: "link", typ: tar.TypeSymlink, link: up}, {name: "link/evil", body: "x"}},
		"symlink-overwrite":     {{name: "link", typ: tar.TypeSymlink, link: out}, {name: "link/secret", body: "pwned"}},
		"symlink-dir-mkdir":     {{name: "link", typ: tar.TypeSymlink, link: out}, {name: "link/sub/", typ: tar.TypeDir}},
		"hardlink-dotdot":       {{name: "hl", typ: tar.TypeLink, link: "../../../../../../../../../../" + out + "/secret"}},
		"hardlink-absolute":     {{name: "hl", typ: tar.TypeLink, link: out + "/secret"}},
		"hardlink-via-link":     {{name: "d", typ: tar.TypeSymlink, link: out}, {name: "hl", typ: tar.TypeLink, link: "d/secret"}},
		"hardlink-missing":      {{name: "hl", typ: tar.TypeLink, link: "nothing"}},
		"whiteout-dotdot":       {{name: "a/", typ: tar.TypeDir}, {name: "a/.wh..", body: ""}},
		"symlink-then-whiteout": {{name: "link", typ: tar.TypeSymlink, link: out}, {name: "link/.wh.secret", body: ""}},
	}
}

func TestUnpackRejectsHostileArchives(t *testing.T) {
	out := outsideDir(t)
	for name, ents := range hostileArchives(out) {
		t.Run(name, func(t *testing.T) {
			target := t.TempDir()
			err := Unpack(context.Background(), bytes.NewReader(mkTar(t, ents...)), target)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
			if !strings.Contains(err.Error(), "hostile") {
				t.Errorf("error does not say why: %v", err)
			}
			assertUntouched(t, out)
		})
	}
}

func TestImportRejectsHostileArchives(t *testing.T) {
	out := outsideDir(t)
	s := newStore(t)
	for name, ents := range hostileArchives(out) {
		t.Run(name, func(t *testing.T) {
			_, err := s.Import(context.Background(), bytes.NewReader(mkTar(t, ents...)), ImportOptions{Ref: "evil"})
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
			assertUntouched(t, out)
		})
	}
	if snaps := entries(t, filepath.Join(s.root, "snapshots")); len(snaps) != 0 {
		t.Errorf("half snapshots left: %v", snaps)
	}
	if dots, _ := os.ReadDir(filepath.Join(s.root, "snapshots")); len(dots) != 0 {
		t.Errorf("temp snapshot dirs left: %d", len(dots))
	}
	if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
		t.Errorf("images made from hostile archives: %d", len(imgs))
	}
}

func TestUnpackReplacesSymlinkInsteadOfFollowing(t *testing.T) {
	out := outsideDir(t)
	target := t.TempDir()
	data := mkTar(t, ent{name: "l", typ: tar.TypeSymlink, link: out + "/secret"}, ent{name: "l", body: "inside"})
	if err := Unpack(context.Background(), bytes.NewReader(data), target); err != nil {
		t.Fatal(err)
	}
	assertUntouched(t, out)
	if got, _ := os.ReadFile(filepath.Join(target, "l")); string(got) != "inside" {
		t.Errorf("l = %q", got)
	}
}

func TestUnpackKeepsModesAndLinks(t *testing.T) {
	target := t.TempDir()
	data := mkTar(t,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "bin/", typ: tar.TypeDir, mode: 0o711},
		ent{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755},
		ent{name: "bin/hard", typ: tar.TypeLink, link: "bin/tool"},
		ent{name: "implicit/parent/file", body: "x", mode: 0o600},
		ent{name: "rel", typ: tar.TypeSymlink, link: "../../../etc/passwd"},
		ent{name: "pax_global_header", typ: tar.TypeXGlobalHeader, pax: map[string]string{"comment": "git"}},
	)
	if err := Unpack(context.Background(), bytes.NewReader(data), target); err != nil {
		t.Fatal(err)
	}
	cases := map[string]os.FileMode{"bin": os.ModeDir | 0o711, "bin/tool": os.ModeSetuid | 0o755, "implicit/parent/file": 0o600}
	for p, want := range cases {
		fi, err := os.Lstat(filepath.Join(target, p))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v err %v, want %v", p, fi.Mode(), err, want)
		}
	}
	a, _ := os.Stat(filepath.Join(target, "bin/tool"))
	b, _ := os.Stat(filepath.Join(target, "bin/hard"))
	if !os.SameFile(a, b) {
		t.Error("hard link not kept")
	}
	if l, _ := os.Readlink(filepath.Join(target, "rel")); l != "../../../etc/passwd" {
		t.Errorf("symlink target changed: %q", l)
	}
}

func TestUnpackOwnershipAndWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t)
	target := t.TempDir()
	data := mkTar(t,
		ent{name: "home/", typ: tar.TypeDir},
		ent{name: "home/user/", typ: tar.TypeDir, uid: 1000, mode: 0o750},
		ent{name: "home/user/f", body: "x", uid: 1000, pax: map[string]string{"SCHILY.xattr.user.k": "v"}},
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "etc/.wh.gone", body: ""},
		ent{name: "opq/", typ: tar.TypeDir},
		ent{name: "opq/.wh..wh..opq", body: ""},
		ent{name: "opq/kept", body: "k"},
		ent{name: ".wh..wh.plnk/", typ: tar.TypeDir},
		ent{name: ".wh..wh.plnk/1.2", body: "aufs"},
	)
	if err := Unpack(context.Background(), bytes.NewReader(data), target); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(target, "home/user/f"), &st); err != nil || st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("owner %d:%d err %v", st.Uid, st.Gid, err)
	}
	val := make([]byte, 16)
	getxattr := func(p, name string) (string, error) {
		n, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			return "", err
		}
		return string(val[:n]), nil
	}
	if v, err := getxattr(filepath.Join(target, "home/user/f"), "user.k"); v != "v" {
		t.Errorf("xattr: %q %v", v, err)
	}
	if err := unix.Lstat(filepath.Join(target, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout: mode %o rdev %d err %v", st.Mode, st.Rdev, err)
	}
	if _, err := os.Lstat(filepath.Join(target, "etc/.wh.gone")); !os.IsNotExist(err) {
		t.Errorf(".wh. file written: %v", err)
	}
	if v, err := getxattr(filepath.Join(target, "opq"), opaqueXattr); v != "y" {
		t.Errorf("opaque xattr: %q %v", v, err)
	}
	if _, err := os.Lstat(filepath.Join(target, "opq/.wh..wh..opq")); !os.IsNotExist(err) {
		t.Errorf("opaque marker written as a file: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(target, ".wh..wh.plnk")); !os.IsNotExist(err) {
		t.Errorf("aufs metadata dir written: %v", err)
	}
}
