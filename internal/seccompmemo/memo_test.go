//go:build cgo && seccomp

package seccompmemo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// defaultProfile is Docker's default profile for Docker's default
// capabilities, on x86-64 and i386, as berth applies it.
func defaultProfile(t *testing.T) *configs.Seccomp {
	t.Helper()
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
		"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}}}}
	p, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		t.Fatal(err)
	}
	p.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86}
	c, err := specconv.SetupSeccomp(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var ops = map[configs.Operator]libseccomp.ScmpCompareOp{
	configs.EqualTo: libseccomp.CompareEqual, configs.NotEqualTo: libseccomp.CompareNotEqual,
	configs.MaskEqualTo: libseccomp.CompareMaskedEqual, configs.GreaterThan: libseccomp.CompareGreater,
	configs.GreaterThanOrEqualTo: libseccomp.CompareGreaterEqual, configs.LessThan: libseccomp.CompareLess,
	configs.LessThanOrEqualTo: libseccomp.CompareLessOrEqual,
}

// compile builds c the way libcontainer's InitSeccomp does (binary tree,
// the same rule calls) and exports it.
func compile(t *testing.T, c *configs.Seccomp) []byte {
	t.Helper()
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(int16(*c.DefaultErrnoRet)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	for _, a := range c.Architectures {
		arch, err := libseccomp.GetArchFromString(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.AddArch(arch); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetOptimize(2); err != nil {
		t.Fatal(err)
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		t.Fatal(err)
	}
	for _, sc := range c.Syscalls {
		n, err := libseccomp.GetSyscallFromName(sc.Name)
		if err != nil {
			continue
		}
		act := libseccomp.ActAllow
		if sc.Action == configs.Errno {
			act = libseccomp.ActErrno.SetReturnCode(int16(*sc.ErrnoRet))
		}
		var conds []libseccomp.ScmpCondition
		for _, a := range sc.Args {
			cd, err := libseccomp.MakeCondition(a.Index, ops[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				t.Fatal(err)
			}
			conds = append(conds, cd)
		}
		if err := f.AddRuleConditional(n, act, conds); err != nil {
			t.Fatalf("rule %s: %v", sc.Name, err)
		}
	}
	out, err := os.CreateTemp(t.TempDir(), "bpf")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := f.ExportBPF(out); err != nil {
		t.Fatal(err)
	}
	out.Seek(0, io.SeekStart)
	b, err := io.ReadAll(out)
	if err != nil || len(b) == 0 {
		t.Fatalf("exported %d bytes: %v", len(b), err)
	}
	return b
}

func memoDir(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the memo directory must be root's: run as root")
	}
	dir := t.TempDir()
	if err := Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(Close)
	return dir
}

// TestMemoServesTheSameProgram: the first export of a filter compiles
// and stores; the same calls again are served from the memo; both equal
// libseccomp's own output without a memo.
func TestMemoServesTheSameProgram(t *testing.T) {
	c := defaultProfile(t)
	want := compile(t, c) // no memo directory yet: libseccomp compiles
	dir := memoDir(t)
	h0 := Hits()
	if got := compile(t, c); !bytes.Equal(got, want) {
		t.Fatalf("first export with a memo differs from libseccomp's: %d vs %d bytes", len(got), len(want))
	}
	if Hits() != h0 {
		t.Fatalf("first export was a hit")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("memo holds %q, want one program", files)
	}
	if got := compile(t, c); !bytes.Equal(got, want) {
		t.Fatalf("memoized program differs from libseccomp's")
	}
	if Hits() != h0+1 {
		t.Fatalf("second export of the same filter was not served from the memo")
	}
}

// TestMemoKeysOnEveryCall: a filter that differs in one rule is compiled
// for itself, and a damaged memo file is ignored.
func TestMemoKeysOnEveryCall(t *testing.T) {
	c := defaultProfile(t)
	fewer := *c
	fewer.Syscalls = c.Syscalls[1:]
	wantFewer := compile(t, &fewer)
	want := compile(t, c)
	if bytes.Equal(want, wantFewer) {
		t.Fatal("test profiles compile alike")
	}
	dir := memoDir(t)
	compile(t, c) // stored
	h0 := Hits()
	if got := compile(t, &fewer); !bytes.Equal(got, wantFewer) || Hits() != h0 {
		t.Fatalf("a filter with one rule less was served another's program (hits %d -> %d)", h0, Hits())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		b[len(b)-3] ^= 0xff // the program's last instruction
		b = b[:len(b)-8]    // and one instruction short
		os.WriteFile(f, b, 0o600)
	}
	if got := compile(t, c); !bytes.Equal(got, want) || Hits() != h0 {
		t.Fatalf("a damaged memo file was used")
	}
}

// TestOpenRefusesOthersDirectories: a directory another user could write
// is refused (its files would become filters).
func TestOpenRefusesOthersDirectories(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	if err := Open(dir); err == nil {
		Close()
		t.Fatal("Open accepted a world-writable directory")
	}
}

// badFilter is a filter with a rule libseccomp refuses (two checks on one
// argument); it returns what it exported and the rule's error, or the
// export's.
func badFilter(t *testing.T) (prog []byte, addErr, exportErr error) {
	t.Helper()
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(1))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	read, _ := libseccomp.GetSyscallFromName("read")
	c1, _ := libseccomp.MakeCondition(0, libseccomp.CompareEqual, 1)
	c2, _ := libseccomp.MakeCondition(0, libseccomp.CompareEqual, 2)
	if err := f.AddRule(read, libseccomp.ActAllow); err != nil {
		t.Fatal(err)
	}
	if addErr = f.AddRuleConditionalExact(read, libseccomp.ActAllow, []libseccomp.ScmpCondition{c1, c2}); addErr != nil {
		return nil, addErr, nil
	}
	out, err := os.CreateTemp(t.TempDir(), "bpf")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	exportErr = f.ExportBPF(out)
	out.Seek(0, io.SeekStart)
	prog, _ = io.ReadAll(out)
	return prog, nil, exportErr
}

// TestDeferredRuleFailure: with the memo on, rules are added only when an
// export needs them; one libseccomp refuses then fails the export, and
// nothing is stored.
func TestDeferredRuleFailure(t *testing.T) {
	if _, addErr, _ := badFilter(t); addErr == nil {
		t.Fatal("libseccomp accepted the test's bad rule without a memo")
	}
	dir := memoDir(t)
	prog, addErr, exportErr := badFilter(t)
	if addErr == nil && exportErr == nil {
		t.Fatalf("a filter with a refused rule exported %d bytes", len(prog))
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("memo stored %q for a failed filter", files)
	}
}

// TestPruneKeepsTheNewest: the memo keeps its newest programs, and drops
// what a store cut short left once it is a minute old.
func TestPruneKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		p := filepath.Join(dir, fmt.Sprintf("p%d", i))
		os.WriteFile(p, []byte("x"), 0o600)
		when := time.Unix(int64(1000+i), 0)
		os.Chtimes(p, when, when)
	}
	stale, fresh := filepath.Join(dir, ".tmp-stale"), filepath.Join(dir, ".tmp-fresh")
	os.WriteFile(stale, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(stale, old, old)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	prune(fd, 2)
	if _, err := os.Stat(stale); err == nil {
		t.Error("a store cut short two minutes ago was left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a store under way was deleted")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	want := []string{fresh, filepath.Join(dir, "p3"), filepath.Join(dir, "p4")}
	if !reflect.DeepEqual(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}
