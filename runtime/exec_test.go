package runtime

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	m, layers := newTestManager(t)
	c := run(t, m, testSpec(layers, "sleep", "100"))
	ctx := context.Background()
	var out, errb bytes.Buffer
	code, err := m.Exec(ctx, c.Name, ExecSpec{Args: []string{"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $X; id -u; pwd; exit 4"},
		Env: []string{"X=y"}, User: "daemon", Cwd: "/tmp", Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	if code != 4 || out.String() != "sleep 100 \ny\n1\n/tmp\n" {
		t.Fatalf("exec: exit %d, out %q err %q", code, out.String(), errb.String())
	}
	if _, err := m.Exec(ctx, c.ID, ExecSpec{Args: []string{"nope"}}); !errors.Is(err, ErrCommandNotFound) {
		t.Fatalf("exec nope: %v", err)
	}
	out.Reset()
	code, err = m.Exec(ctx, c.ID, ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Fatalf("exec cat: %d %v %q", code, err, out.String())
	}
	out.Reset()
	code, err = m.Exec(ctx, c.ID, ExecSpec{Args: []string{"sh", "-c", "tty; stty size"}, Tty: true, Stdout: &out})
	if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/pts/") {
		t.Fatalf("exec tty: %d %v %q", code, err, out.String())
	}
	if _, err := m.Exec(ctx, c.ID, ExecSpec{Args: []string{"sh", "-c", "sleep 1; touch /tmp/detached"}, Detach: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "detached exec", func() bool {
		code, _ := m.Exec(ctx, c.ID, ExecSpec{Args: []string{"test", "-e", "/tmp/detached"}})
		return code == 0
	})
	pids, err := m.Top(ctx, c.ID)
	if err != nil || len(pids) != 1 {
		t.Fatalf("top: %v %v", pids, err)
	}
	if err := m.Pause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, c.ID); got.State.Status != StatusPaused {
		t.Fatalf("after pause: %s", got.State.Status)
	}
	if err := m.Unpause(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats(ctx, c.ID)
	if err != nil || st.Pids != 1 || st.MemoryUsage == 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
	d := time.Duration(0)
	if err := m.Stop(ctx, c.ID, &d); err != nil {
		t.Fatal(err)
	}
}
