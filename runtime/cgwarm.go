package runtime

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/cgroups"
)

// WarmCgroupAttach starts, in the background, the grace period that the
// first move of a process into a cgroup waits for.
//
// Every write to a cgroup.procs file takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and when no writer took it in the
// last grace period, that percpu rwsem first waits for a full RCU grace
// period (rcu_sync_enter): 7-20 ms on these machines, in libcontainer's
// cgroup Apply, on the critical path of every container start. Writers
// that come while a grace period is in flight, or within one grace period
// after the last writer left, share it. So the monitor, as it starts,
// moves itself into the cgroup it is already in (a no-op migration: "0"
// is the writing process) from another thread; by the time libcontainer
// moves the container's init, ~5-10 ms later, the grace period is over or
// nearly so. engine.Start does the same in the CLI before it attaches the
// networks. Best effort: an error only means the start waits as before.
func WarmCgroupAttach() {
	go warmCgroupAttach()
}

// warmCgroupAttach moves this process into its own cgroup; it returns once
// the kernel did.
func warmCgroupAttach() error {
	procs, err := ownProcsFile()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(procs, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("0")
	return err
}

// ownProcsFile is the cgroup.procs file of this process's cgroup (in the
// pids hierarchy on cgroup v1), found once: `up` starts many containers
// from one process.
var ownProcsFile = sync.OnceValues(func() (string, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		own, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
		if err != nil {
			return "", err
		}
		return filepath.Join("/sys/fs/cgroup", own[""], "cgroup.procs"), nil
	}
	dir, err := cgroups.GetOwnCgroupPath("pids")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cgroup.procs"), nil
})
