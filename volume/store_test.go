package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

// helperEnv makes the test binary a helper process that creates one volume
// and prints its name and the pid of the process that created it.
const helperEnv = "BERTH_VOLUME_TEST_CREATE"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		root, name, _ := strings.Cut(spec, "|")
		s, err := New(Options{Root: root})
		if err == nil {
			var v *Volume
			labels := map[string]string{"pid": fmt.Sprint(os.Getpid())}
			if v, err = s.Create(context.Background(), name, CreateOptions{Labels: labels}); err == nil {
				fmt.Println(v.Name, v.Labels["pid"])
				os.Exit(0)
			}
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Options{Root: filepath.Join(t.TempDir(), "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(vs []*Volume) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func TestCreateGetListRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v, err := s.Create(ctx, "data", CreateOptions{Labels: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != "local" || v.Mountpoint != filepath.Join(s.Root(), "data", "_data") || v.Labels["a"] != "1" || v.Anonymous {
		t.Fatalf("unexpected volume %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("mountpoint: %v", err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Creating again returns the existing volume, data and labels unchanged.
	again, err := s.Create(ctx, "data", CreateOptions{Labels: map[string]string{"b": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !again.CreatedAt.Equal(v.CreatedAt) || again.Labels["b"] != "" || again.Labels["a"] != "1" {
		t.Fatalf("re-create changed the volume: %+v", again)
	}
	if b, _ := os.ReadFile(filepath.Join(again.Mountpoint, "f")); string(b) != "keep" {
		t.Fatalf("data lost on re-create: %q", b)
	}
	if _, err := s.Create(ctx, "other", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "data")
	if err != nil || got.Labels["a"] != "1" {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := s.List(ctx)
	if err != nil || !slices.Equal(names(list), []string{"data", "other"}) {
		t.Fatalf("list: %v %v", names(list), err)
	}
	if err := s.Remove(ctx, "data", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "data"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "data")); !os.IsNotExist(err) {
		t.Fatalf("volume directory left behind: %v", err)
	}
	if err := s.Remove(ctx, "data", nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	ents, _ := os.ReadDir(s.Root())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), trashPrefx) {
			t.Fatalf("trash left behind: %s", e.Name())
		}
	}
}

func TestCreateInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cases := []struct {
		name  string
		vname string
		opts  CreateOptions
		class error
	}{
		{"one char", "a", CreateOptions{}, errdefs.ErrInvalidArgument},
		{"leading dot", ".ab", CreateOptions{}, errdefs.ErrInvalidArgument},
		{"slash", "a/b", CreateOptions{}, errdefs.ErrInvalidArgument},
		{"dotdot", "..", CreateOptions{}, errdefs.ErrInvalidArgument},
		{"space", "a b", CreateOptions{}, errdefs.ErrInvalidArgument},
		{"driver", "ok", CreateOptions{Driver: "nfs"}, errdefs.ErrNotImplemented},
		{"unknown option", "ok", CreateOptions{Options: map[string]string{"size": "1g"}}, errdefs.ErrInvalidArgument},
		{"no type", "ok", CreateOptions{Options: map[string]string{"o": "size=1m"}}, errdefs.ErrInvalidArgument},
		{"no device", "ok", CreateOptions{Options: map[string]string{"type": "ext4"}}, errdefs.ErrInvalidArgument},
		{"relative bind", "ok", CreateOptions{Options: map[string]string{"type": "none", "o": "bind", "device": "rel"}}, errdefs.ErrInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Create(ctx, c.vname, c.opts)
			if !errors.Is(err, c.class) {
				t.Fatalf("got %v, want class %v", err, c.class)
			}
		})
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("invalid creates left volumes: %v", names(list))
	}
	for _, ok := range []string{"ab", "a.b-c_d", "0x", "My_Vol.1"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q): %v", ok, err)
		}
	}
}

func TestCreateWithOptions(t *testing.T) {
	s := newStore(t)
	opts := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}
	v, err := s.Create(context.Background(), "tmp", CreateOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(context.Background(), "tmp")
	if !got.NeedsMount() || got.Options["o"] != "size=64m" || v.Options["type"] != "tmpfs" {
		t.Fatalf("options not kept: %+v", got.Options)
	}
}

func TestAnonymous(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v, err := s.Create(ctx, "", CreateOptions{Labels: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Name) != 64 || strings.Trim(v.Name, "0123456789abcdef") != "" {
		t.Fatalf("anonymous name %q is not 64 hex digits", v.Name)
	}
	got, err := s.Get(ctx, v.Name)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := got.Labels[AnonymousLabel]; !ok || l != "" || !got.Anonymous || got.Labels["x"] != "y" {
		t.Fatalf("anonymous volume %+v", got)
	}
	w, err := s.Create(ctx, "", CreateOptions{})
	if err != nil || w.Name == v.Name {
		t.Fatalf("second anonymous volume: %v %v", w, err)
	}
}

func TestRemoveInUse(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Create(ctx, "busy", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	inUse := func(n string) bool { return n == "busy" }
	err := s.Remove(ctx, "busy", inUse)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), `volume "busy" is in use`) {
		t.Fatalf("remove in use: %v", err)
	}
	if _, err := s.Get(ctx, "busy"); err != nil {
		t.Fatalf("volume in use was removed: %v", err)
	}
	if err := s.Remove(ctx, "busy", func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		opts   PruneOptions
		inUse  []string
		remove []string
	}{
		{"anonymous only", PruneOptions{}, nil, []string{"anon1", "anon2"}},
		{"skips in use", PruneOptions{}, []string{"anon1"}, []string{"anon2"}},
		{"all", PruneOptions{All: true}, []string{"named1"}, []string{"anon1", "anon2", "named2"}},
		{"label key", PruneOptions{All: true, Labels: []string{"env"}}, nil, []string{"anon2", "named1", "named2"}},
		{"label value", PruneOptions{All: true, Labels: []string{"env=prod"}}, nil, []string{"named2"}},
		{"label negated", PruneOptions{All: true, Labels: []string{"!env=prod"}}, nil, []string{"anon1", "anon2", "named1"}},
		{"label absent", PruneOptions{All: true, Labels: []string{"!env"}}, nil, []string{"anon1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			mk := func(name string, anon bool, labels map[string]string) {
				if _, err := s.Create(ctx, name, CreateOptions{Anonymous: anon, Labels: labels}); err != nil {
					t.Fatal(err)
				}
			}
			mk("anon1", true, nil)
			mk("anon2", true, map[string]string{"env": "dev"})
			mk("named1", false, map[string]string{"env": "dev"})
			mk("named2", false, map[string]string{"env": "prod"})
			v, _ := s.Get(ctx, "anon2")
			if err := os.WriteFile(filepath.Join(v.Mountpoint, "blob"), make([]byte, 1000), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Prune(ctx, func(n string) bool { return slices.Contains(c.inUse, n) }, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.Removed, c.remove) {
				t.Fatalf("removed %v, want %v", rep.Removed, c.remove)
			}
			var want int64
			if slices.Contains(c.remove, "anon2") {
				want = 1000
			}
			if rep.SpaceReclaimed != want {
				t.Fatalf("reclaimed %d, want %d", rep.SpaceReclaimed, want)
			}
			list, _ := s.List(ctx)
			for _, n := range names(list) {
				if slices.Contains(c.remove, n) {
					t.Fatalf("%s still listed", n)
				}
			}
			if len(list)+len(c.remove) != 4 {
				t.Fatalf("left %v after removing %v", names(list), c.remove)
			}
		})
	}
	s := newStore(t)
	if _, err := s.Prune(ctx, nil, PruneOptions{Labels: []string{"=x"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("bad filter: %v", err)
	}
}

func TestIsEmptyAndSize(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v, err := s.Create(ctx, "vol", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if empty, err := s.IsEmpty("vol"); err != nil || !empty {
		t.Fatalf("new volume: empty=%v %v", empty, err)
	}
	p := filepath.Join(v.Mountpoint, "a")
	if err := os.WriteFile(p, make([]byte, 300), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(p, filepath.Join(v.Mountpoint, "b")); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.IsEmpty("vol"); err != nil || empty {
		t.Fatalf("volume with a file: empty=%v %v", empty, err)
	}
	if n, err := s.Size(ctx, "vol"); err != nil || n != 300 {
		t.Fatalf("size %d %v, want 300 (hard link counted once)", n, err)
	}
	if _, err := s.IsEmpty("nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("IsEmpty of missing volume: %v", err)
	}
}

func TestConcurrentCreateGoroutines(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "volumes")
	var wg sync.WaitGroup
	created := make([]*Volume, 16)
	errs := make([]error, 16)
	for i := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := New(Options{Root: root})
			if err == nil {
				created[i], err = s.Create(ctx, "shared", CreateOptions{Labels: map[string]string{"i": fmt.Sprint(i)}})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	for _, v := range created[1:] {
		if v.Labels["i"] != created[0].Labels["i"] || !v.CreatedAt.Equal(created[0].CreatedAt) {
			t.Fatalf("two different volumes were created: %+v and %+v", v, created[0])
		}
	}
	s, _ := New(Options{Root: root})
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Fatalf("list: %v", names(list))
	}
}

func TestConcurrentCreateProcesses(t *testing.T) {
	root := filepath.Join(t.TempDir(), "volumes")
	const n = 8
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+root+"|shared")
			out, err := cmd.CombinedOutput()
			if err != nil {
				outs[i] = "error: " + err.Error() + ": " + string(out)
				return
			}
			outs[i] = strings.TrimSpace(string(out))
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o != outs[0] || !strings.HasPrefix(o, "shared ") {
			t.Fatalf("processes disagree on the volume: %q", outs)
		}
	}
	s, _ := New(Options{Root: root})
	if list, _ := s.List(context.Background()); len(list) != 1 {
		t.Fatalf("list: %v", names(list))
	}
}
