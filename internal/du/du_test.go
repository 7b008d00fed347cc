package du

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSizeCountsHardLinksOnceAndSkipsSymlinks(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 100)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	write("sub/b", 20)
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "a-link")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "big")
	os.WriteFile(outside, make([]byte, 5000), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "sym")); err != nil {
		t.Fatal(err)
	}
	if n, err := Size(context.Background(), dir); err != nil || n != 120 {
		t.Errorf("Size = %d, %v; want 120", n, err)
	}
	if n, err := Size(context.Background(), filepath.Join(dir, "missing")); err == nil || n != 0 {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}
