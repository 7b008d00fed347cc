package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// reapStrayChildren reaps zombie "runc:[1:CHILD]" children and leaves every
// other child to its owner.
func TestReapStrayChildren(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	dir := t.TempDir()
	stray := filepath.Join(dir, "runc:[1:CHILD]") // the comm nsexec gives it
	other := filepath.Join(dir, "other-child")
	for _, l := range []string{stray, other} {
		if err := os.Symlink(truePath, l); err != nil {
			t.Fatal(err)
		}
	}
	a, b := exec.Command(stray), exec.Command(other)
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer b.Wait()
	zombie := func(pid int) bool {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		i := indexState(st)
		return err == nil && i > 0 && i < len(st) && st[i] == 'Z'
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(zombie(a.Process.Pid) && zombie(b.Process.Pid)) {
		if time.Now().After(deadline) {
			t.Fatal("children did not exit")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reapStrayChildren()
	if _, err := os.Stat("/proc/" + strconv.Itoa(a.Process.Pid)); !os.IsNotExist(err) {
		t.Errorf("stray runc:[1:CHILD] zombie not reaped: %v", err)
	}
	if !zombie(b.Process.Pid) {
		t.Errorf("another child was reaped: its owner's Wait would fail")
	}
}

// indexState returns the index of the state field in a /proc/PID/stat line.
func indexState(st []byte) int {
	for i := len(st) - 1; i >= 0; i-- {
		if st[i] == ')' {
			return i + 2
		}
	}
	return 0
}
