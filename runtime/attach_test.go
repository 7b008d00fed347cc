package runtime

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
)

func TestForegroundAttachSeesFirstByte(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, testSpec(layers, "sh", "-c", "echo first; echo err >&2; exit 7"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb testutil.SyncBuffer
	if err := m.Start(ctx, c.ID, StartOptions{Attach: &AttachOptions{Stdout: &out, Stderr: &errb}}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\n" || errb.String() != "err\n" {
		t.Fatalf("attached output %q %q", out.String(), errb.String())
	}
	if code := waitExit(t, m, c.ID); code != 7 {
		t.Fatalf("exit %d", code)
	}
}

func TestAttachStdinAndTerminal(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	spec := testSpec(layers, "cat")
	spec.Process.OpenStdin = true
	c, _ := m.Create(ctx, spec)
	var out testutil.SyncBuffer
	err := m.Start(ctx, c.ID, StartOptions{Attach: &AttachOptions{Stdin: strings.NewReader("piped in\n"), Stdout: &out}})
	if err != nil || out.String() != "piped in\n" {
		t.Fatalf("stdin round trip: %v %q", err, out.String())
	}

	spec = testSpec(layers, "sh")
	spec.Process.OpenStdin, spec.Process.Terminal = true, true
	c, _ = m.Create(ctx, spec)
	pr, pw := io.Pipe()
	out = testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx, c.ID, StartOptions{Attach: &AttachOptions{Stdin: pr, Stdout: &out}}) }()
	pw.Write([]byte("tty; echo marker$((1+1))\n"))
	eventually(t, "terminal output", func() bool { return strings.Contains(out.String(), "marker2") })
	if !strings.Contains(out.String(), "/dev/pts/0") {
		t.Fatalf("no terminal: %q", out.String())
	}
	pw.Write([]byte{0x10, 0x11}) // ctrl-p ctrl-q
	select {
	case err := <-done:
		if !errors.Is(err, ErrDetached) {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("detach keys did not detach")
	}
	got, _ := m.Get(ctx, c.ID)
	if got.State.Status != StatusRunning {
		t.Fatalf("after detach: %s", got.State.Status)
	}
	// Reattach and end the shell.
	pr2, pw2 := io.Pipe()
	go func() { done <- m.Attach(ctx, c.ID, AttachOptions{Stdin: pr2, Stdout: &out}) }()
	time.Sleep(200 * time.Millisecond)
	pw2.Write([]byte("exit 5\n"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, m, c.ID); code != 5 {
		t.Fatalf("exit %d", code)
	}
	logOut, _ := logs(t, m, c.ID)
	if !strings.Contains(logOut, "marker2") {
		t.Fatalf("terminal output not logged: %q", logOut)
	}
}

// run --rm: the exit hook may remove the container before the CLI asks for
// its exit code; Wait still returns the code an attached Start saw.
func TestWaitAfterAttachedStartAndRemove(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	c, err := m.Create(ctx, testSpec(layers, "sh", "-c", "exit 5"))
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.SyncBuffer
	if err := m.Start(ctx, c.ID, StartOptions{Attach: &AttachOptions{Stdout: &out, Stderr: &out}}); err != nil {
		t.Fatal(err)
	}
	other, err := New(m.opts) // another process, as the exit hook is
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Remove(ctx, c.ID, RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if code, err := m.Wait(ctx, c.ID, "not-running"); err != nil || code != 5 {
		t.Fatalf("Wait after remove = %d, %v; want 5", code, err)
	}
	if _, err := other.Wait(ctx, c.ID, "not-running"); !errdefs.IsNotFound(err) {
		t.Fatalf("Wait of a Manager that saw no exit = %v, want not found", err)
	}
}
