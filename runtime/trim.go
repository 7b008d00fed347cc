package runtime

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// trimMemoryOverTime trims now and again as the monitor settles (start-up
// code pages fault back in for a moment); the returned func cancels.
func trimMemoryOverTime() (stop func()) {
	trimMemory()
	timers := []*time.Timer{time.AfterFunc(500*time.Millisecond, trimMemory), time.AfterFunc(5*time.Second, trimMemory)}
	return func() {
		for _, t := range timers {
			t.Stop()
		}
	}
}

// trimMemory lowers the monitor's resident memory once its container runs:
// it returns free heap to the kernel and drops the executable's read-only
// pages (code, rodata) from this process's page tables. They stay in the
// page cache and fault back in, 4 KiB at a time instead of as huge pages,
// when the monitor runs that code again. Writable mappings are left alone.
func trimMemory() {
	debug.SetGCPercent(25) // an idle monitor allocates little: keep its heap tight
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		madvise(uintptr(start), uintptr(end-start), unix.MADV_NOHUGEPAGE)
		madvise(uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
	}
}

// madvise takes a raw address range from /proc/self/maps (no Go slice
// covers the executable's own mappings).
func madvise(addr, n uintptr, advice int) {
	unix.Syscall(unix.SYS_MADVISE, addr, n, uintptr(advice))
}
