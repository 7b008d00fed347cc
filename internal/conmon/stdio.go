package conmon

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Stdio is the container process's input side the monitor holds: its stdin
// pipe (OpenStdin) or its pty master (Terminal), and the last window size.
type Stdio struct {
	mu      sync.Mutex
	stdin   io.WriteCloser // the process's stdin, when OpenStdin, or the pty master
	console *os.File       // the pty master, with a terminal
	winsize unix.Winsize   // last size an attach client asked for (0 = none)
}

// SetStdin sets the process's stdin pipe.
func (s *Stdio) SetStdin(w io.WriteCloser) {
	s.mu.Lock()
	s.stdin = w
	s.mu.Unlock()
}

// SetConsole sets the pty master (also the process's input) and applies
// the last window size asked for.
func (s *Stdio) SetConsole(master *os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.console, s.stdin = master, master
	if s.winsize.Col > 0 {
		setWinsize(master, &s.winsize)
	}
}

// setWinsize sets f's window size without Fd (which would make f blocking,
// and its reads impossible to stop for a handover).
func setWinsize(f *os.File, ws *unix.Winsize) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// Write forwards attach clients' input to the process.
func (s *Stdio) Write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdin != nil {
		s.stdin.Write(p)
	}
}

// CloseStdin closes the process's stdin (an attach client sent EOF); a
// terminal stays open.
func (s *Stdio) CloseStdin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdin != nil && s.console == nil {
		s.stdin.Close()
		s.stdin = nil
	}
}

// Resize sets the terminal's window size (remembered for a later console).
func (s *Stdio) Resize(w, h uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.winsize = unix.Winsize{Col: w, Row: h}
	if s.console != nil {
		setWinsize(s.console, &s.winsize)
	}
}

// Winsize is the last size asked for (0, 0 when none).
func (s *Stdio) Winsize() (w, h uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.winsize.Col, s.winsize.Row
}

// Files returns the stdin pipe (nil with a terminal) and the pty master.
func (s *Stdio) Files() (stdin, console *os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.console == nil {
		stdin, _ = s.stdin.(*os.File)
	}
	return stdin, s.console
}

// Close closes stdin and forgets the console (whose reader closes it).
func (s *Stdio) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdin != nil {
		s.stdin.Close()
		s.stdin = nil
	}
	s.console = nil
}
