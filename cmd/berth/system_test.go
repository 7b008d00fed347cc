package main

import (
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/engine"
)

func TestVersionCommand(t *testing.T) {
	out, err := runBerthVolume(t, t.TempDir(), "version", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if v.Client.Version != version || !strings.HasPrefix(v.Client.GoVersion, "go") || v.Client.Os != "linux" || v.Client.GitCommit == "" {
		t.Fatalf("version: %+v", v)
	}
	out, err = runBerthVolume(t, t.TempDir(), "version")
	if err != nil || !strings.Contains(out, "Version:    "+version+"\n") {
		t.Fatalf("version text: %q %v", out, err)
	}
}

func TestSystemInfoCommand(t *testing.T) {
	root := t.TempDir()
	if _, err := runBerthVolume(t, root, "volume", "create", "one"); err != nil {
		t.Fatal(err)
	}
	out, err := runBerthVolume(t, root, "system", "info", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var info sysInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Skipf("no /sys/fs/cgroup: %v", err)
	}
	wantVersion := "1"
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		wantVersion = "2"
	}
	var u unix.Utsname
	unix.Uname(&u)
	if info.DataRoot != root || info.Volumes != 1 || info.CgroupVersion != wantVersion ||
		info.KernelVersion != unix.ByteSliceToString(u.Release[:]) || info.NCPU < 1 {
		t.Fatalf("info: %+v", info)
	}
	if out, err := runBerthVolume(t, root, "system", "info", "--format", "{{.CgroupVersion}}/{{.CgroupMode}}"); err != nil ||
		!strings.HasPrefix(out, wantVersion+"/") {
		t.Fatalf("info --format: %q %v", out, err)
	}
}

func TestCompletionCommand(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, err := runBerthVolume(t, t.TempDir(), "completion", sh)
		if err != nil || !strings.Contains(out, "berth") || len(out) < 1000 {
			t.Fatalf("completion %s: %v (%d bytes)", sh, err, len(out))
		}
	}
	if _, err := runBerthVolume(t, t.TempDir(), "completion", "tcsh"); err == nil {
		t.Fatal("completion for an unknown shell succeeded")
	}
}

// TestPrintPruneReport: system prune reports like docker system prune, its
// total with go-units' four significant digits as the other prune commands.
func TestPrintPruneReport(t *testing.T) {
	var b strings.Builder
	printPruneReport(&b, engine.PruneReport{Containers: []string{"c1"}, Networks: []string{"n1"}, Reclaimed: 1234567})
	want := "Deleted Containers:\nc1\n\nDeleted Networks:\nn1\n\nTotal reclaimed space: 1.235MB\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
