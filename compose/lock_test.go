package compose

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockProjectSerializesOneProject(t *testing.T) {
	dir := t.TempDir()
	first, err := LockProject(context.Background(), dir, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// a second taker of the same project waits...
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := LockProject(ctx, dir, "demo"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of the same project: %v, want to wait", err)
	}
	// ...another project does not
	other, err := LockProject(context.Background(), dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	other.Unlock()
	got := make(chan error, 1)
	go func() {
		l, err := LockProject(context.Background(), dir, "demo")
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	first.Unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter never got the lock after it was released")
	}
}
