package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNameIndex(t *testing.T) {
	m := newUnitManager(t)
	ctx := context.Background()
	spec := func(name string) Spec {
		return Spec{Name: name, Process: ProcessSpec{Args: []string{"true"}}, Rootfs: RootfsSpec{Layers: []string{"/x"}}}
	}
	web, err := m.Create(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(m.nameLink("web")); got != web.ID {
		t.Fatalf("link web -> %q, want %s", got, web.ID)
	}

	// Rename moves the name: the old one is free, the new one taken.
	if err := m.Rename(ctx, "web", "api"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(m.nameLink("web")); !os.IsNotExist(err) {
		t.Errorf("old name still linked after rename: %v", err)
	}
	if id := m.idByName("api"); id != web.ID {
		t.Errorf("api -> %q", id)
	}
	web2, err := m.Create(ctx, spec("web"))
	if err != nil {
		t.Fatalf("name freed by rename: %v", err)
	}

	// A stale link (an interrupted create: no container behind it, or one
	// that has another name now) does not hold the name.
	ghost := strings.Repeat("a", 64)
	if err := os.Symlink(ghost, m.nameLink("ghost")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(web2.ID, m.nameLink("other")); err != nil {
		t.Fatal(err)
	}
	if id := m.idByName("ghost"); id != "" {
		t.Errorf("stale link to a missing container resolves to %q", id)
	}
	if id := m.idByName("other"); id != "" {
		t.Errorf("stale link to a renamed container resolves to %q", id)
	}
	g, err := m.Create(ctx, spec("ghost"))
	if err != nil {
		t.Fatalf("create over a stale link: %v", err)
	}
	if got, _ := os.Readlink(m.nameLink("ghost")); got != g.ID {
		t.Errorf("stale link not replaced: %q", got)
	}

	// Remove releases the name, but not a link another container took.
	if err := m.Remove(ctx, "api", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(m.nameLink("api")); !os.IsNotExist(err) {
		t.Errorf("name still linked after remove: %v", err)
	}
	m.releaseName(ctx, "web", web.ID) // web is web2's now
	if id := m.idByName("web"); id != web2.ID {
		t.Errorf("release by a former holder dropped the new holder's link: %q", id)
	}
}

// A root made before the index existed gets one on first use.
func TestNameIndexBuiltForOldRoot(t *testing.T) {
	m := newUnitManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, Spec{Name: "db", Process: ProcessSpec{Args: []string{"true"}}, Rootfs: RootfsSpec{Layers: []string{"/x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(m.opts.Root, namesDir)); err != nil {
		t.Fatal(err)
	}
	m2, err := New(m.opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m2.Get(ctx, "db"); err != nil || got.ID != c.ID {
		t.Fatalf("Get(db) on a rebuilt index: %v", err)
	}
	ents, _ := os.ReadDir(m.opts.Root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), namesDir+".tmp") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}
