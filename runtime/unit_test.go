package runtime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/conmon"
	"github.com/berth/berth/internal/errdefs"
)

func TestNormalizeCap(t *testing.T) {
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_KILL": "CAP_KILL", "all": "ALL", "Sys_Time": "CAP_SYS_TIME"} {
		got, err := normalizeCap(in)
		if err != nil || got != want {
			t.Errorf("normalizeCap(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeCap("bogus"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bogus cap: %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	have, _ := boundingCaps()
	cases := []struct {
		name string
		sec  Security
		want []string
	}{
		{"default", Security{}, defaultCaps},
		{"drop one", Security{CapDrop: []string{"net_raw"}}, without(defaultCaps, "CAP_NET_RAW")},
		{"drop all add two", Security{CapDrop: []string{"ALL"}, CapAdd: []string{"kill", "CAP_CHOWN"}}, []string{"CAP_CHOWN", "CAP_KILL"}},
		{"add all drop one", Security{CapAdd: []string{"ALL"}, CapDrop: []string{"chown"}}, without(have, "CAP_CHOWN")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := capabilities(tc.sec)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSet(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, c := range list {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func TestShouldRestart(t *testing.T) {
	cases := []struct {
		name   string
		policy RestartPolicy
		code   int
		st     State
		want   bool
	}{
		{"no", RestartPolicy{Name: "no"}, 1, State{}, false},
		{"always on success", RestartPolicy{Name: "always"}, 0, State{}, true},
		{"always stopped by user", RestartPolicy{Name: "always"}, 137, State{StoppedByUser: true}, false},
		{"on-failure success", RestartPolicy{Name: "on-failure"}, 0, State{}, false},
		{"on-failure under max", RestartPolicy{Name: "on-failure", MaxRetries: 2}, 1, State{RestartCount: 1}, true},
		{"on-failure at max", RestartPolicy{Name: "on-failure", MaxRetries: 2}, 1, State{RestartCount: 2}, false},
		{"on-failure unlimited", RestartPolicy{Name: "on-failure"}, 1, State{RestartCount: 50}, true},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, 0, State{}, true},
	}
	for _, tc := range cases {
		if got := shouldRestart(tc.policy, tc.code, tc.st); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestParseReport(t *testing.T) {
	if err := parseReport("started 42"); err != nil {
		t.Fatal(err)
	}
	for line, class := range map[string]error{
		"error notfound exec: \"x\": not found": ErrCommandNotFound,
		"error notexec exec: denied":            ErrNotExecutable,
		"error conflict port 80 in use":         errdefs.ErrConflict,
	} {
		if err := parseReport(line); !errors.Is(err, class) {
			t.Errorf("%q: %v", line, err)
		}
	}
	if err := parseReport("error other boom"); err == nil || err.Error() != "boom" {
		t.Errorf("other: %v", err)
	}
	// The monitor side round-trips.
	for _, err := range []error{ErrCommandNotFound, ErrNotExecutable, errdefs.ErrConflict} {
		if got := parseReport("error " + reportKind(err) + " x"); !errors.Is(got, err) {
			t.Errorf("round trip %v: %v", err, got)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"SIGTERM": 15, "term": 15, "KILL": 9, "9": 9, "SIGUSR1": 10} {
		got, err := ParseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("ParseSignal(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"SIGNOPE", "0", "99"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) accepted", bad)
		}
	}
}

func TestDetachKeys(t *testing.T) {
	keys, err := parseDetachKeys("")
	if err != nil || !bytes.Equal(keys, []byte{0x10, 0x11}) {
		t.Fatalf("default keys %v %v", keys, err)
	}
	if _, err := parseDetachKeys("ctrl-"); err == nil {
		t.Fatal("bad keys accepted")
	}
	var sent bytes.Buffer
	send := func(p []byte) error { sent.Write(p); return nil }
	if !copyStdin(strings.NewReader("ab\x10c\x10\x11zz"), keys, send) {
		t.Fatal("detach keys not seen")
	}
	if sent.String() != "ab\x10c" {
		t.Fatalf("forwarded %q", sent.String())
	}
	sent.Reset()
	if copyStdin(strings.NewReader("plain\x10"), keys, send) || sent.String() != "plain" {
		t.Fatalf("EOF case: %q", sent.String())
	}
}

func TestBuildEnv(t *testing.T) {
	got := buildEnv([]string{"A=1"}, "host", "/root", true)
	want := []string{"PATH=" + defaultPath, "A=1", "HOSTNAME=host", "TERM=xterm", "HOME=/root"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v", got)
	}
	got = buildEnv([]string{"PATH=/x", "HOME=/h"}, "", "/root", false)
	if strings.Join(got, " ") != "PATH=/x HOME=/h" {
		t.Fatalf("got %v", got)
	}
}

func TestLookCommand(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/data"), []byte("x"), 0o644)
	os.Symlink("/bin/tool", filepath.Join(root, "bin/link"))
	os.Symlink("../../../../etc/passwd", filepath.Join(root, "bin/escape"))
	env := []string{"PATH=/bin"}
	cases := map[string]error{"tool": nil, "/bin/tool": nil, "link": nil, "missing": ErrCommandNotFound,
		"/bin/data": ErrNotExecutable, "data": ErrNotExecutable, "/bin": ErrNotExecutable, "escape": ErrCommandNotFound}
	for cmd, want := range cases {
		err := lookCommand(root, cmd, env, "/")
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: %v, want %v", cmd, err, want)
		}
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nuser:x:1000:\nstaff:x:50:user\n"), 0o644)
	cases := []struct {
		spec string
		add  []string
		want execUser
	}{
		{"", nil, execUser{UID: 0, GID: 0, Home: "/root"}},
		{"user", nil, execUser{UID: 1000, GID: 1000, Groups: []int{50}, Home: "/home/user"}},
		{"user:root", nil, execUser{UID: 1000, GID: 0, Home: "/home/user"}},
		{"1234:5678", []string{"staff"}, execUser{UID: 1234, GID: 5678, Groups: []int{50}, Home: "/"}},
	}
	for _, tc := range cases {
		got, err := resolveUser(root, tc.spec, tc.add)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if got.UID != tc.want.UID || got.GID != tc.want.GID || got.Home != tc.want.Home || len(got.Groups) != len(tc.want.Groups) {
			t.Errorf("%q: got %+v want %+v", tc.spec, *got, tc.want)
		}
	}
	if _, err := resolveUser(root, "nobody", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestRlimitsCapped(t *testing.T) {
	rl, warnings, err := rlimits([]Ulimit{{Name: "nofile", Soft: 1 << 40, Hard: 1 << 40}, {Name: "core", Soft: 0, Hard: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "nofile") || rl[0].Hard == 1<<40 || rl[0].Soft > rl[0].Hard {
		t.Fatalf("not capped: %+v %v", rl, warnings)
	}
	if _, _, err := rlimits([]Ulimit{{Name: "bogus"}}); err == nil {
		t.Fatal("bogus ulimit accepted")
	}
	if _, _, err := rlimits([]Ulimit{{Name: "nofile", Soft: 10, Hard: 5}}); err == nil {
		t.Fatal("soft above hard accepted")
	}
}

// newUnitManager is a Manager in a temp dir, for tests that need no root.
func newUnitManager(t *testing.T) *Manager {
	dir := t.TempDir()
	m, err := New(Options{Root: filepath.Join(dir, "c"), RunRoot: filepath.Join(dir, "r"), LibcontainerRoot: filepath.Join(dir, "l")})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNamesAndReferences(t *testing.T) {
	m := newUnitManager(t)
	ctx := context.Background()
	spec := Spec{Name: "web", Process: ProcessSpec{Args: []string{"true"}}, Rootfs: RootfsSpec{Layers: []string{"/x"}}}
	c, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID) != 64 {
		t.Fatalf("id %q", c.ID)
	}
	_, err = m.Create(ctx, spec)
	if !errors.Is(err, errdefs.ErrAlreadyExists) || !strings.Contains(err.Error(), `container name "/web" is already in use by container "`+c.ID) {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, ref := range []string{"web", "/web", c.ID, c.ID[:5]} {
		got, err := m.Get(ctx, ref)
		if err != nil || got.ID != c.ID {
			t.Errorf("Get(%q): %v", ref, err)
		}
	}
	if _, err := m.Get(ctx, "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	spec2 := spec
	spec2.Name, spec2.ID = "", c.ID[:1]+strings.Repeat("0", 63)
	c2, err := m.Create(ctx, spec2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Name == "" {
		t.Error("no generated name")
	}
	if _, err := m.Get(ctx, c.ID[:1]); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if err := m.Rename(ctx, "web", c2.Name); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("rename onto taken name: %v", err)
	}
	if err := m.Rename(ctx, "web", "api"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Get(ctx, "api"); err != nil || got.ID != c.ID {
		t.Errorf("after rename: %v", err)
	}
	if _, err := m.Create(ctx, Spec{Name: "bad name", Process: spec.Process}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad name: %v", err)
	}
	list, _ := m.List(ctx)
	if len(list) != 2 {
		t.Errorf("list: %d", len(list))
	}
}

func TestLogsReadback(t *testing.T) {
	m := newUnitManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, Spec{Name: "l", Process: ProcessSpec{Args: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := conmon.OpenLog(m.LogPath(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", conmon.MaxLogLine+10) + "\n"
	w.CopyStream("stdout", strings.NewReader("one\ntwo\n"+long+"no newline"))
	w.CopyStream("stderr", strings.NewReader("err\n"))
	w.Close()
	data, _ := os.ReadFile(m.LogPath(c.ID))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], `{"log":"one\n","stream":"stdout","time":"`) {
		t.Fatalf("log file:\n%s", data)
	}
	var out, errb bytes.Buffer
	if err := m.Logs(ctx, "l", LogOptions{Tail: -1}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntwo\n"+long+"no newline" || errb.String() != "err\n" {
		t.Fatalf("logs %q %q", out.String()[:20], errb.String())
	}
	out.Reset()
	m.Logs(ctx, "l", LogOptions{Tail: 2, Timestamps: true}, &out, &out)
	if !regexp.MustCompile(`^\d{4}-\S+Z no newline\d{4}-\S+Z err\n$`).MatchString(out.String()) {
		t.Fatalf("tail 2 with timestamps: %q", out.String())
	}
	out.Reset()
	m.Logs(ctx, "l", LogOptions{Tail: 0}, &out, &out)
	if out.Len() != 0 {
		t.Fatalf("tail 0: %q", out.String())
	}
	out.Reset()
	m.Logs(ctx, "l", LogOptions{Tail: -1, Since: time.Now().Add(time.Hour)}, &out, &out)
	if out.Len() != 0 {
		t.Fatalf("since future: %q", out.String())
	}
}

func TestAttachFrames(t *testing.T) {
	var buf bytes.Buffer
	conmon.WriteFrame(&buf, conmon.FrameStdout, []byte("out"))
	conmon.WriteFrame(&buf, conmon.FrameStderr, nil)
	conmon.WriteFrame(&buf, conmon.FrameResize, []byte{0, 80, 0, 24})
	for _, want := range []struct {
		id byte
		p  string
	}{{conmon.FrameStdout, "out"}, {conmon.FrameStderr, ""}, {conmon.FrameResize, "\x00P\x00\x18"}} {
		id, p, err := conmon.ReadFrame(&buf, nil)
		if err != nil || id != want.id || string(p) != want.p {
			t.Fatalf("frame %d %q %v, want %d %q", id, p, err, want.id, want.p)
		}
	}
	if _, _, err := conmon.ReadFrame(&buf, nil); err == nil {
		t.Fatal("read past the end")
	}
	buf.Write([]byte{conmon.FrameStdin, 0xff, 0xff, 0xff, 0xff})
	if _, _, err := conmon.ReadFrame(&buf, nil); err == nil {
		t.Fatal("oversized frame accepted")
	}
}
