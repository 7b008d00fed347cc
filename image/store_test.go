package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestImportAndGet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := importBusybox(t, s, "busybox", `ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin`, `CMD ["sh"]`, "EXPOSE 80", "LABEL a=b")
	if !strings.HasPrefix(img.ID, "sha256:") || len(img.ID) != 71 {
		t.Fatalf("id %q", img.ID)
	}
	if !slices.Equal(img.RepoTags, []string{"busybox:latest"}) {
		t.Errorf("RepoTags %v", img.RepoTags)
	}
	if !slices.Equal(img.Config.Cmd, []string{"sh"}) || img.Config.Env[0] != "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ||
		!slices.Equal(img.Config.ExposedPorts, []string{"80/tcp"}) || img.Config.Labels["a"] != "b" {
		t.Errorf("config %+v", img.Config)
	}
	if img.Size < 500_000 || len(img.Layers) != 1 || len(img.History) != 1 || img.History[0].Comment != "Imported from -" {
		t.Errorf("size %d layers %v history %+v", img.Size, img.Layers, img.History)
	}
	hex := strings.TrimPrefix(img.ID, "sha256:")
	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox", img.ID, hex, hex[:12], "sha256:" + hex[:5]} {
		got, err := s.Get(ctx, ref)
		if err != nil {
			t.Errorf("Get(%q): %v", ref, err)
			continue
		}
		if got.ID != img.ID {
			t.Errorf("Get(%q) = %s", ref, got.ID)
		}
	}
	for _, ref := range []string{"busybox:1", "other", "0000", "Busybox"} {
		if _, err := s.Get(ctx, ref); !errdefs.IsNotFound(err) {
			t.Errorf("Get(%q) err = %v, want not found", ref, err)
		}
	}
	dirs, err := s.Layers(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 {
		t.Fatalf("layers %v", dirs)
	}
	if data, err := os.ReadFile(filepath.Join(dirs[0], "etc/passwd")); err != nil || !strings.HasPrefix(string(data), "root:") {
		t.Errorf("snapshot etc/passwd: %q %v", data, err)
	}
	if l, err := os.Readlink(filepath.Join(dirs[0], "bin/sh")); err != nil || l != "/bin/busybox" {
		t.Errorf("bin/sh link %q %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(dirs[0], "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("tmp mode: %v %v", fi, err)
	}
}

func TestImportRejectsNonTar(t *testing.T) {
	s := newStore(t)
	for name, data := range map[string][]byte{"empty": nil, "text": []byte(strings.Repeat("hello world\n", 100))} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Import(context.Background(), bytes.NewReader(data), ImportOptions{Ref: "x"})
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
		})
	}
	if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
		t.Errorf("images after failed imports: %d", len(imgs))
	}
}

func TestTagAndList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := importBusybox(t, s, "a")
	b := importBusybox(t, s, "")
	if len(b.RepoTags) != 0 {
		t.Fatalf("untagged import has tags %v", b.RepoTags)
	}
	if err := s.Tag(ctx, "a", "localhost:5000/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "a", "Bad:tag"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad name: %v", err)
	}
	if err := s.Tag(ctx, "missing", "x"); !errdefs.IsNotFound(err) {
		t.Errorf("missing source: %v", err)
	}
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("List: %d images", len(imgs))
	}
	got, _ := s.Get(ctx, a.ID)
	if !slices.Equal(got.RepoTags, []string{"a:latest", "localhost:5000/team/app:v1"}) {
		t.Errorf("tags %v", got.RepoTags)
	}
	// Moving a tag to another image.
	if err := s.Tag(ctx, b.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "a"); got.ID != b.ID {
		t.Errorf("tag a did not move")
	}
}

func TestConcurrentImportSharesOneSnapshot(t *testing.T) {
	s := newStore(t)
	data := busybox(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Import(context.Background(), bytes.NewReader(data), ImportOptions{Ref: "bb:" + string(rune('a'+i))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if snaps := entries(t, filepath.Join(s.root, "snapshots")); len(snaps) != 1 {
		t.Errorf("snapshots %v, want exactly one", snaps)
	}
	if tmp := entries(t, filepath.Join(s.root, "tmp")); len(tmp) != 0 {
		t.Errorf("leftovers in tmp: %v", tmp)
	}
	imgs, _ := s.List(context.Background())
	if len(imgs) != 4 {
		t.Errorf("%d images, want 4", len(imgs))
	}
}

func TestRemoveSemantics(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := importBusybox(t, s, "a")
	if err := s.Tag(ctx, "a", "a2"); err != nil {
		t.Fatal(err)
	}
	b := importBusybox(t, s, "b")
	snap := filepath.Join(s.root, "snapshots", strings.TrimPrefix(a.Layers[0], "sha256:"))

	if _, err := s.Remove(ctx, a.ID, RemoveOptions{}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("remove by id with two names: %v, want conflict", err)
	}
	lines, err := s.Remove(ctx, "a2", RemoveOptions{InUse: func(string) bool { return true }})
	if err != nil || !slices.Equal(lines, []string{"Untagged: a2:latest"}) {
		t.Errorf("untag one of two names: %v %v", lines, err)
	}
	inUse := func(id string) bool { return id == a.ID }
	if _, err := s.Remove(ctx, "a", RemoveOptions{InUse: inUse}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("remove last name of in-use image: %v, want failed precondition", err)
	}
	lines, err = s.Remove(ctx, "a", RemoveOptions{})
	if err != nil || !slices.Equal(lines, []string{"Untagged: a:latest", "Deleted: " + a.ID}) {
		t.Fatalf("remove: %v %v", lines, err)
	}
	if _, err := os.Stat(snap); err != nil {
		t.Errorf("shared snapshot removed while b uses it: %v", err)
	}
	if _, err := s.Get(ctx, a.ID); !errdefs.IsNotFound(err) {
		t.Errorf("removed image still found: %v", err)
	}
	lines, err = s.Remove(ctx, "b", RemoveOptions{Force: true, InUse: func(string) bool { return true }})
	if err != nil || !slices.Equal(lines, []string{"Untagged: b:latest"}) {
		t.Errorf("force remove of in-use image: %v %v (want untag only)", lines, err)
	}
	if _, err := s.Get(ctx, b.ID); err != nil {
		t.Errorf("in-use image deleted: %v", err)
	}
	lines, err = s.Remove(ctx, b.ID[7:19], RemoveOptions{})
	if err != nil || !slices.Equal(lines, []string{"Deleted: " + b.ID}) {
		t.Errorf("remove dangling by prefix: %v %v", lines, err)
	}
	for _, d := range []string{"snapshots", "blobs/sha256", "images"} {
		if left := entries(t, filepath.Join(s.root, d)); len(left) != 0 {
			t.Errorf("%s not empty after removing every image: %v", d, left)
		}
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	keep := importBusybox(t, s, "keep")
	dangling := importBusybox(t, s, "")
	used := importBusybox(t, s, "")
	inUse := func(id string) bool { return id == used.ID }
	lines, _, err := s.Prune(ctx, PruneOptions{InUse: inUse})
	if err != nil || !slices.Equal(lines, []string{"Deleted: " + dangling.ID}) {
		t.Fatalf("prune: %v %v", lines, err)
	}
	lines, _, err = s.Prune(ctx, PruneOptions{All: true, InUse: inUse})
	if err != nil || !slices.Equal(lines, []string{"Untagged: keep:latest", "Deleted: " + keep.ID}) {
		t.Fatalf("prune -a: %v %v", lines, err)
	}
	if imgs, _ := s.List(ctx); len(imgs) != 1 || imgs[0].ID != used.ID {
		t.Errorf("left %v", imgs)
	}
}

// TestConcurrentImportAndRemove races imports against removals of images
// that share the same layer: at the end every image left has its snapshot.
func TestConcurrentImportAndRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := busybox(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				ref := fmt.Sprintf("w%d:%d", w, i)
				if _, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{Ref: ref}); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := s.Remove(ctx, ref, RemoveOptions{}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 8 {
		t.Errorf("%d images, want 8", len(imgs))
	}
	for _, img := range imgs {
		dirs, err := s.Layers(ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dirs[0], "bin/busybox")); err != nil {
			t.Errorf("%v: snapshot content missing: %v", img.RepoTags, err)
		}
	}
	if snaps := entries(t, filepath.Join(s.root, "snapshots")); len(snaps) != 1 {
		t.Errorf("snapshots %v", snaps)
	}
}

func TestForceRemoveByIDUntagsEverything(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := importBusybox(t, s, "x:1")
	if err := s.Tag(ctx, "x:1", "y"); err != nil {
		t.Fatal(err)
	}
	lines, err := s.Remove(ctx, img.ID, RemoveOptions{Force: true})
	want := []string{"Untagged: x:1", "Untagged: y:latest", "Deleted: " + img.ID}
	if err != nil || !slices.Equal(lines, want) {
		t.Fatalf("got %v %v, want %v", lines, err, want)
	}
	if _, err := s.Get(ctx, "y"); !errdefs.IsNotFound(err) {
		t.Errorf("tag y survived: %v", err)
	}
}
