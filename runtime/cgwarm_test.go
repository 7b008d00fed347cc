package runtime

import (
	"os"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// TestWarmCgroupAttach: the warm-up write moves this process into the
// cgroups it is already in: it succeeds and changes nothing.
func TestWarmCgroupAttach(t *testing.T) {
	testutil.RequiresRoot(t)
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if err := warmCgroupAttach(); err != nil {
		t.Fatalf("warm-up write: %v", err)
	}
	after, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Errorf("the warm-up moved the process:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
