package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
)

func rootStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Options{Root: filepath.Join(testutil.TempRoot(t), "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMountTmpfs(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := rootStore(t)
	v, err := s.Create(ctx, "scratch", CreateOptions{Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0750"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		p, err := s.Mount(ctx, "scratch")
		if err != nil {
			t.Fatal(err)
		}
		if p != v.Mountpoint {
			t.Fatalf("mount returned %q, want %q", p, v.Mountpoint)
		}
	}
	t.Cleanup(func() { unix.Unmount(v.Mountpoint, unix.MNT_DETACH) })
	var sfs unix.Statfs_t
	if err := unix.Statfs(v.Mountpoint, &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type != unix.TMPFS_MAGIC || sfs.Blocks*uint64(sfs.Bsize) != 1<<20 {
		t.Fatalf("not a 1m tmpfs: type %x, %d bytes", sfs.Type, sfs.Blocks*uint64(sfs.Bsize))
	}
	ms, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(v.Mountpoint))
	if len(ms) != 1 {
		t.Fatalf("tmpfs mounted %d times", len(ms))
	}
	if err := s.Unmount(ctx, "scratch"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := mountinfo.Mounted(v.Mountpoint); ok {
		t.Fatal("still mounted after Unmount")
	}
	if err := s.Unmount(ctx, "scratch"); err != nil {
		t.Fatalf("second unmount: %v", err)
	}
	// Remove unmounts a mounted volume.
	if _, err := s.Mount(ctx, "scratch"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "scratch", nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := mountinfo.Mounted(v.Mountpoint); ok {
		t.Fatal("still mounted after Remove")
	}
}

func TestMountBindKeepsHostDataOnRemove(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := rootStore(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, "hostdir", CreateOptions{Options: map[string]string{"type": "none", "device": host, "o": "bind,ro,nosuid"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Mount(ctx, "hostdir")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
	if b, err := os.ReadFile(filepath.Join(p, "precious")); err != nil || string(b) != "x" {
		t.Fatalf("bind content: %q %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(p, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write to a ro bind: %v", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(p, &sfs); err != nil || sfs.Flags&unix.ST_NOSUID == 0 {
		t.Fatalf("bind is not nosuid: flags %#x %v", sfs.Flags, err)
	}
	if err := s.Remove(ctx, "hostdir", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "precious")); err != nil {
		t.Fatalf("removing the volume deleted the bound host data: %v", err)
	}
}

func TestRemoveRefusesForeignMount(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	s := rootStore(t)
	v, err := s.Create(ctx, "nested", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(v.Mountpoint, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, inner, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(inner, unix.MNT_DETACH) })
	if err := s.Remove(ctx, "nested", nil); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("remove with a mount inside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(host, "precious")); err != nil {
		t.Fatalf("host data behind the mount was deleted: %v", err)
	}
	if _, err := s.Get(ctx, "nested"); err != nil {
		t.Fatalf("volume gone after a refused remove: %v", err)
	}
}

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		in    string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"size=64m", 0, "size=64m"},
		{"size=64m,uid=1000,ro,noexec", unix.MS_RDONLY | unix.MS_NOEXEC, "size=64m,uid=1000"},
		{"bind,ro,rw", unix.MS_BIND, ""},
		{"rbind,nosuid,addr=10.0.0.1", unix.MS_BIND | unix.MS_REC | unix.MS_NOSUID, "addr=10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			flags, data := parseMountOptions(c.in)
			if flags != c.flags || data != c.data {
				t.Fatalf("got %#x %q, want %#x %q", flags, data, c.flags, c.data)
			}
		})
	}
}
