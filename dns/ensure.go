package dns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// How long Ensure waits for a new server to bind its sockets, and for a
// running one to load the newest snapshot.
const (
	startTimeout = 10 * time.Second
	loadTimeout  = 5 * time.Second
)

// Ensure makes sure a DNS server for dir runs and has loaded the newest
// snapshot. When no process holds dir's server lock (none was started, or
// it died, even by SIGKILL) it starts command (berth's "__dns" with the
// same --root) detached in its own session with stdio on /dev/null and
// waits until it is ready. Concurrent Ensure calls start one server.
func Ensure(ctx context.Context, dir string, command []string) error {
	if len(command) == 0 {
		return fmt.Errorf("dns server for %s: empty command: %w", dir, errdefs.ErrInvalidArgument)
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("dns directory %s: %w", dir, err)
	}
	l, err := lockfile.Lock(ctx, filepath.Join(dir, ensureLock))
	if err != nil {
		return fmt.Errorf("dns server for %s: %w", dir, err)
	}
	defer l.Unlock()
	var lastErr error
	for range 3 {
		if !running(dir) {
			if err := start(ctx, dir, command); err != nil {
				return err
			}
		}
		// A server that was about to exit for lack of networks may go
		// away while we wait: then start a new one.
		if lastErr = waitLoaded(ctx, dir); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

// running reports whether a server holds dir's lock.
func running(dir string) bool {
	h, ok, err := lockfile.TryLock(filepath.Join(dir, serverLock))
	if err != nil {
		return false
	}
	if ok {
		h.Unlock()
		return false
	}
	return true
}

// start launches command and waits until it has written its pid file.
func start(ctx context.Context, dir string, command []string) error {
	os.Remove(filepath.Join(dir, pidFile))
	cmd := exec.Command(command[0], command[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/" // never keep the caller's directory (or its mount) busy
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dns server %q: %w", command[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if this process outlives it
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		if pid, err := readPid(dir); err == nil && pid == cmd.Process.Pid {
			return nil
		}
		select {
		case err := <-exited:
			if running(dir) { // lost a race to another server: fine
				return nil
			}
			return fmt.Errorf("dns server exited at start (%v): %w; run %q by hand to see why", err, errdefs.ErrUnavailable, strings.Join(command, " "))
		case <-ctx.Done():
			cmd.Process.Kill()
			return fmt.Errorf("dns server did not become ready in %s: %w", startTimeout, errdefs.ErrUnavailable)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitLoaded waits until the running server reports the serial of the
// snapshot on disk as loaded.
func waitLoaded(ctx context.Context, dir string) error {
	snap, err := ReadSnapshot(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	for {
		data, err := os.ReadFile(filepath.Join(dir, loadedFile))
		if err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err == nil && n >= snap.Serial {
				return nil
			}
		}
		if !running(dir) {
			return fmt.Errorf("dns server for %s stopped: %w", dir, errdefs.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dns server for %s has not loaded records serial %d: %w", dir, snap.Serial, errdefs.ErrUnavailable)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Stop terminates the server of dir (SIGTERM, SIGKILL after a few
// seconds) and returns once it is gone. No server is not an error.
func Stop(ctx context.Context, dir string) error {
	l, err := lockfile.Lock(ctx, filepath.Join(dir, ensureLock))
	if err != nil {
		return fmt.Errorf("dns server for %s: %w", dir, err)
	}
	defer l.Unlock()
	if !running(dir) {
		os.Remove(filepath.Join(dir, pidFile))
		return nil
	}
	pid, err := readPid(dir)
	if err != nil {
		return fmt.Errorf("dns server for %s runs without a readable %s: %w", dir, pidFile, errdefs.ErrFailedPrecondition)
	}
	sig := syscall.SIGTERM
	deadline := time.Now().Add(3 * time.Second)
	for running(dir) {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop dns server %d: %w", pid, err)
		}
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func readPid(dir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// StopIfIdle stops the server when the stored snapshot lists no network
// (it would exit by itself a few seconds later; callers that remove the
// last network and then check that nothing is left call this). It
// reports whether the snapshot was idle.
func StopIfIdle(ctx context.Context, dir string) (bool, error) {
	s, err := ReadSnapshot(dir)
	if err != nil {
		return false, err
	}
	if len(s.Networks) > 0 {
		return false, nil
	}
	return true, Stop(ctx, dir)
}
