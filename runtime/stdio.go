package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// wireStdio wires the process's stdio: pipes (or a console socket for a
// terminal) whose output goes to the log and the attach clients. It returns
// the child's ends, to close once the process started.
func (mon *monitor) wireStdio(p *libcontainer.Process, wg *sync.WaitGroup) ([]*os.File, error) {
	spec := mon.c.Spec.Process
	mon.outputs = nil
	if spec.Terminal {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return nil, err
		}
		p.ConsoleSocket = child
		mon.consoleSock = parent
		return []*os.File{child}, nil
	}
	var closeAfter []*os.File
	for _, name := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		if name == "stdout" {
			p.Stdout = w
		} else {
			p.Stderr = w
		}
		closeAfter = append(closeAfter, w)
		mon.copyOutput(outStream{stream: name, f: r}, wg)
	}
	if spec.OpenStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.Stdin = r
		closeAfter = append(closeAfter, r)
		mon.stdio.SetStdin(w)
	}
	return closeAfter, nil
}

// copyOutput logs o until EOF (or until a handover stops its reads).
func (mon *monitor) copyOutput(o outStream, wg *sync.WaitGroup) {
	if !slices.Contains(mon.outputs, o) {
		mon.outputs = append(mon.outputs, o)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if o.raw {
			mon.log.CopyRaw(o.stream, o.f)
		} else {
			mon.log.CopyStream(o.stream, o.f)
		}
	}()
}

// recvConsole receives the pty master from libcontainer and logs its output.
func (mon *monitor) recvConsole(p *libcontainer.Process, wg *sync.WaitGroup) error {
	sock := mon.consoleSock
	mon.consoleSock = nil
	defer sock.Close()
	master, err := recvFile(sock)
	if err != nil {
		return fmt.Errorf("receive console: %w", err)
	}
	mon.stdio.SetConsole(master)
	mon.copyOutput(outStream{stream: "stdout", f: master, raw: true}, wg)
	return nil
}

// oomKilled reads the container cgroup's oom_kill counter.
func (mon *monitor) oomKilled() bool {
	if mon.lc == nil {
		return false
	}
	st, err := mon.lc.State()
	if err != nil {
		return false
	}
	var file, dir string
	if cgroups.IsCgroup2UnifiedMode() {
		dir, file = st.CgroupPaths[""], "memory.events"
	} else {
		dir, file = st.CgroupPaths["memory"], "memory.oom_control"
	}
	if dir == "" {
		return false
	}
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == "oom_kill" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

// ensureCwd creates the working directory in the rootfs when missing,
// owned by the process's user.
func ensureCwd(rootfs, cwd string, eu *execUser) error {
	full, err := securejoin.SecureJoin(rootfs, cwd)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(full); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("working directory %q is not a directory", cwd)
		}
		return nil
	}
	if err := os.MkdirAll(full, 0o755); err != nil {
		return fmt.Errorf("create working directory %q: %w", cwd, err)
	}
	return os.Chown(full, eu.UID, eu.GID)
}

// recvFile receives one file descriptor (the pty master libcontainer sends
// on a console socket) from a unix socket.
func recvFile(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 && oobn == 0 {
			return nil, fmt.Errorf("console socket closed before sending the terminal")
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return nil, fmt.Errorf("console socket: unexpected control message: %v", err)
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return nil, fmt.Errorf("console socket: expected one descriptor: %v", err)
		}
		// Non-blocking, so a handover can stop its reader with a deadline.
		unix.SetNonblock(fds[0], true)
		return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
	}
}
