package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// TestSeveralProcessesShareOneStore runs imports and removals from several
// OS processes (this test binary re-run as a helper) against one store:
// the flock-based locking must keep every image whole and one snapshot.
func TestSeveralProcessesShareOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	root := filepath.Join(t.TempDir(), "image")
	tarFile := testutil.BusyboxTarFile(t)
	var wg sync.WaitGroup
	outs := make([][]byte, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessImport$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BERTH_IMAGE_HELPER_ROOT="+root, "BERTH_IMAGE_HELPER_TAR="+tarFile, "BERTH_IMAGE_HELPER_ID="+strconv.Itoa(i))
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil {
			t.Fatalf("helper %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	s, err := New(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 6 {
		t.Errorf("%d images, want 6 (3 processes x 2 kept)", len(imgs))
	}
	for _, img := range imgs {
		if _, err := s.Layers(context.Background(), img.ID); err != nil {
			t.Errorf("%v: %v", img.RepoTags, err)
		}
	}
	if snaps := entries(t, filepath.Join(root, "snapshots")); len(snaps) != 1 {
		t.Errorf("snapshots %v, want one", snaps)
	}
}

// TestHelperProcessImport is the body of one helper process of
// TestSeveralProcessesShareOneStore; it does nothing in a normal run.
func TestHelperProcessImport(t *testing.T) {
	root := os.Getenv("BERTH_IMAGE_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process for TestSeveralProcessesShareOneStore")
	}
	ctx := context.Background()
	s, err := New(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	id := os.Getenv("BERTH_IMAGE_HELPER_ID")
	for j := range 4 {
		f, err := os.Open(os.Getenv("BERTH_IMAGE_HELPER_TAR"))
		if err != nil {
			t.Fatal(err)
		}
		ref := fmt.Sprintf("p%s:%d", id, j)
		_, err = s.Import(ctx, f, ImportOptions{Ref: ref})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if j%2 == 1 {
			if _, err := s.Remove(ctx, ref, RemoveOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
