package lockfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockWaitsForRelease: a waiter gets the lock as soon as its holder
// lets it go, and a waiter whose context ends gives up without keeping it.
func TestLockWaitsForRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	ctx := context.Background()
	held, err := Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Handle)
	go func() {
		h, err := Lock(ctx, path)
		if err != nil {
			t.Error(err)
		}
		got <- h
	}()
	select {
	case <-got:
		t.Fatal("second Lock returned while the first was held")
	case <-time.After(50 * time.Millisecond):
	}
	held.Unlock()
	select {
	case h := <-got:
		h.Unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("second Lock did not return after the release")
	}

	held, err = Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := RLock(cctx, path); err == nil {
		t.Fatal("RLock of a held lock returned without error after its context ended")
	}
	held.Unlock()
	// The abandoned waiter takes the lock and lets it go at once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, ok, err := TryLock(path)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			h.Unlock()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock stayed held after a cancelled waiter")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLockExistingKeepsGoneDirGone: the lock of a removed directory fails
// and does not bring the directory back.
func TestLockExistingKeepsGoneDirGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if _, err := LockExisting(context.Background(), filepath.Join(dir, "l")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LockExisting in a missing directory: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the directory was made again: %v", err)
	}
}
