package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// Exec runs a process in a running container as a child of the calling
// process and returns its exit code (128+signal when killed). A missing or
// non-executable command fails with an error wrapping ErrCommandNotFound or
// ErrNotExecutable. With Detach it returns 0 once the process started.
// Env adds to the container's environment; Cwd and User default to the
// container's.
func (m *Manager) Exec(ctx context.Context, ref string, spec ExecSpec) (int, error) {
	if len(spec.Args) == 0 {
		return -1, fmt.Errorf("exec: no command given: %w", errdefs.ErrInvalidArgument)
	}
	c, lc, err := m.running(ctx, ref)
	if err != nil {
		return -1, err
	}
	if c.State.Status == StatusPaused {
		return -1, fmt.Errorf("container %s is paused, unpause the container before exec: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	p, err := m.execProcess(c, spec)
	if err != nil {
		return -1, err
	}
	var console *os.File
	var closeAfter []*os.File
	switch {
	case spec.Detach:
	case spec.Tty:
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return -1, err
		}
		defer parent.Close()
		p.ConsoleSocket = child
		closeAfter = append(closeAfter, child)
		console = parent
	default:
		p.Stdin, p.Stdout, p.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	}
	err = lc.Run(p)
	for _, f := range closeAfter {
		f.Close()
	}
	if err != nil {
		return -1, classifyStartError(c, err)
	}
	if spec.Detach {
		go p.Wait()
		return 0, nil
	}
	var wg sync.WaitGroup
	if console != nil {
		master, err := recvFile(console)
		if err != nil {
			p.Signal(unix.SIGKILL)
			p.Wait()
			return -1, fmt.Errorf("container %s: exec: receive console: %w", c.Name, err)
		}
		defer master.Close()
		pumpTerminal(master, spec, &wg)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			p.Signal(unix.SIGKILL)
		case <-done:
		}
	}()
	ps, _ := p.Wait()
	close(done)
	wg.Wait()
	return exitStatus(ps), ctx.Err()
}

// pumpTerminal copies between an exec's terminal and the caller's streams.
func pumpTerminal(master *os.File, spec ExecSpec, wg *sync.WaitGroup) {
	if spec.Resize != nil {
		go func() {
			for ws := range spec.Resize {
				unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: ws.Width, Row: ws.Height})
			}
		}()
	}
	if spec.Stdin != nil {
		go io.Copy(master, spec.Stdin)
	}
	if spec.Stdout != nil {
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(spec.Stdout, master) }()
	}
}

// execProcess builds an exec's process: Cwd and User default to the
// container's, Env adds to its environment.
func (m *Manager) execProcess(c *Container, spec ExecSpec) (*libcontainer.Process, error) {
	cwd, usr := spec.Cwd, spec.User
	if cwd == "" {
		cwd = c.Spec.Process.Cwd
	}
	if usr == "" {
		usr = c.Spec.Process.User
	}
	env := append(append([]string(nil), c.Spec.Process.Env...), spec.Env...)
	p, err := newProcess(c, m.rootfsDir(c.ID), spec.Args, env, cwd, usr, spec.Tty, false)
	if err != nil {
		return nil, fmt.Errorf("container %s: exec: %w", c.Name, err)
	}
	return p, nil
}
