// Command berth-monitor-idle is the steady state of a container's monitor.
// berth-monitor (libcontainer, the engine's hooks) starts the container,
// then execs this binary in the same process, handing it, by descriptor,
// the monitor lock, the json-file log, the process's stdio, the attach
// socket and its clients and the published ports (internal/conmon's
// Handover, in the environment). This binary copies output to the log,
// serves attach, resize and stdin, proxies the ports, starts each
// healthcheck probe as a short-lived "berth-monitor __health ID", reaps the
// container's init, and then execs back into berth-monitor with the exit
// status, which records it and applies the restart policy.
//
// It links only internal/conmon and internal/portproxy (no libcontainer,
// cgroups, netlink, engine), so that the process that lives as long as its
// container stays a few megabytes even when all of its binary is mapped.
// internal/deptest holds that line. Its argv is berth-monitor's
// ("... --root R __monitor ID"), so tools that look for monitors find it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/conmon"
	"github.com/berth/berth/internal/portproxy"
)

func main() {
	h, err := conmon.TakeHandover()
	if err == nil && h == nil {
		err = fmt.Errorf("no monitor handover: this binary is exec'd by berth-monitor only")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-monitor-idle: %v\n", err)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(25)
	err = run(h)
	fmt.Fprintf(os.Stderr, "berth-monitor-idle: %v\n", err)
	os.Exit(1)
}

// run serves the container until its init exits, then execs back into the
// full monitor; it returns only on failure (the monitor lock is then
// released by the exit, and berth reads the container as "monitor died").
func run(h *conmon.Handover) error {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	reaper := newReaper()
	lock := conmon.File(h.Lock, "lock")
	defer runtime.KeepAlive(lock) // the flock lives as long as this descriptor
	log := conmon.NewLog(conmon.File(h.Log, "log"))
	var stdio conmon.Stdio
	if h.Winsize[0] > 0 {
		stdio.Resize(uint16(h.Winsize[0]), uint16(h.Winsize[1]))
	}
	if h.Stdin > 0 {
		stdio.SetStdin(conmon.File(h.Stdin, "stdin"))
	}
	var copies sync.WaitGroup
	copyOut := func(fd int, stream string, raw bool) {
		f := conmon.File(fd, stream)
		if raw {
			stdio.SetConsole(f)
		}
		copies.Add(1)
		go func() {
			defer copies.Done()
			if raw {
				log.CopyRaw(stream, f)
			} else {
				log.CopyStream(stream, f)
			}
		}()
	}
	// Attach clients first, so no output is broadcast before they are back.
	var attach *conmon.Server
	if h.Attach > 0 {
		a, err := conmon.ResumeServer(h.Attach, h.Clients, log, &stdio, h.OpenStdin)
		if err != nil {
			return err
		}
		attach = a
	}
	for _, o := range []struct {
		fd     int
		stream string
		raw    bool
	}{{h.Stdout, "stdout", false}, {h.Stderr, "stderr", false}, {h.Console, "stdout", true}} {
		if o.fd > 0 {
			copyOut(o.fd, o.stream, o.raw)
		}
	}
	var ports *portproxy.Proxy
	if len(h.Ports) > 0 {
		p, err := portproxy.FromFiles(h.Ports)
		if err != nil {
			return err
		}
		ports = p
		ports.Serve()
	}
	ctx, stopHealth := context.WithCancel(context.Background())
	healthDone := make(chan struct{})
	go healthLoop(ctx, h.Health, h.Env, reaper, healthDone)
	time.AfterFunc(time.Second, debug.FreeOSMemory) // start-up garbage

	status := reaper.wait(h.Pid)
	stopHealth()
	<-healthDone
	copies.Wait() // the output pipes reach EOF once the container's processes are gone
	stdio.Close()

	back := &conmon.Handover{ID: h.ID, Big: h.Big, Env: h.Env, Loop: h.Loop, Status: &status, OpenStdin: h.OpenStdin}
	var err error
	if back.Lock, err = conmon.Inheritable(lock); err != nil {
		return err
	}
	if back.Log, err = conmon.Inheritable(log.File()); err != nil {
		return err
	}
	if attach != nil {
		if back.Attach, back.Clients, err = attach.Handover(); err != nil {
			return err
		}
	}
	if ports != nil {
		if back.Ports, err = ports.Files(); err != nil {
			return err
		}
	}
	return conmon.Exec(h.Big, h.Env, back)
}

// healthLoop starts plan's probe on its schedule until ctx is done; a probe
// running then is waited for (it ends with the container). done is closed
// when it returns.
func healthLoop(ctx context.Context, plan *conmon.HealthPlan, env []string, r *reaper, done chan<- struct{}) {
	defer close(done)
	if plan == nil {
		return
	}
	next := plan.Next
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		p, err := os.StartProcess(plan.Probe[0], plan.Probe, &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
		if err == nil {
			pid := p.Pid
			p.Release()
			// The probe kills its command after Timeout; this bounds the
			// probe process itself.
			guard := time.AfterFunc(plan.Timeout+time.Minute, func() { syscall.Kill(pid, syscall.SIGKILL) })
			r.wait(pid)
			guard.Stop()
		}
		now := time.Now()
		next = now.Add(plan.Wait(now))
	}
}

// reaper reaps this process's children (it is a subreaper: the container's
// init, healthcheck probes, and orphans) and hands the wait status of the
// ones asked for to their waiters.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan int
	exited  map[int]int // statuses nobody waited for yet
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan int{}, exited: map[int]int{}}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		for {
			r.reap() // also the children that exited before this process started
			<-ch
		}
	}()
	return r
}

func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		r.mu.Lock()
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- int(ws)
		} else {
			r.exited[pid] = int(ws) // a few bytes per orphan nobody asks for
		}
		r.mu.Unlock()
	}
}

// wait returns pid's wait status once it exited.
func (r *reaper) wait(pid int) int {
	r.mu.Lock()
	if ws, ok := r.exited[pid]; ok {
		delete(r.exited, pid)
		r.mu.Unlock()
		return ws
	}
	ch := make(chan int, 1)
	r.waiters[pid] = ch
	r.mu.Unlock()
	return <-ch
}
