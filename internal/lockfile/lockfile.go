// Package lockfile takes advisory flock(2) locks on files, for state that
// several berth processes may touch at once. A lock is released when it is
// unlocked or when its process dies, so a killed CLI never leaves it held.
package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Handle is a held flock on one file.
type Handle struct{ f *os.File }

// Lock blocks until it holds an exclusive lock on path (created if missing)
// or ctx is done.
func Lock(ctx context.Context, path string) (*Handle, error) {
	return lock(ctx, path, unix.LOCK_EX)
}

// LockExisting is Lock for a lock file in a directory that must exist: when
// the directory is gone it fails with an error matching fs.ErrNotExist
// instead of making it again (the lock of a container must not bring back
// the directory of a container removed meanwhile).
func LockExisting(ctx context.Context, path string) (*Handle, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return lockFile(ctx, f, unix.LOCK_EX)
}

// RLock blocks until it holds a shared lock on path or ctx is done.
func RLock(ctx context.Context, path string) (*Handle, error) {
	return lock(ctx, path, unix.LOCK_SH)
}

// TryLock takes an exclusive lock without waiting; ok is false when another
// process holds it.
func TryLock(path string) (l *Handle, ok bool, err error) {
	f, err := open(path)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return &Handle{f: f}, true, nil
}

func open(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func lock(ctx context.Context, path string, how int) (*Handle, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	return lockFile(ctx, f, how)
}

// lockFile locks f, closing it on failure.
func lockFile(ctx context.Context, f *os.File, how int) (*Handle, error) {
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	if err == nil {
		return &Handle{f: f}, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
		f.Close()
		return nil, err
	}
	// Held elsewhere: wait in the kernel, which hands the lock over the
	// moment it is released (polling with a back-off added up to tens of
	// milliseconds per wait). The blocking call occupies a thread; when
	// ctx ends first, that thread keeps waiting and lets the lock go as
	// soon as it gets it.
	got := make(chan error, 1)
	go func() { got <- flockWait(f, how) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, err
		}
		return &Handle{f: f}, nil
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		return nil, ctx.Err()
	}
}

// flockWait blocks until it holds the lock, retrying when a signal
// interrupts the wait.
func flockWait(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Unlock releases the lock. It is safe to call on a nil Handle and twice.
func (l *Handle) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Inheritable clears close-on-exec on the lock's file and returns its
// descriptor: a program this process execs keeps holding the lock.
func (l *Handle) Inheritable() (int, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) {
		fd = int(u)
		_, err = unix.FcntlInt(u, unix.F_SETFD, 0)
	}); err != nil {
		return -1, err
	}
	return fd, err
}

// FromFD is the Handle of a lock held on the inherited descriptor fd.
func FromFD(fd int) *Handle {
	unix.CloseOnExec(fd)
	return &Handle{f: os.NewFile(uintptr(fd), "lock")}
}
