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
// it returns free heap to the kernel and drops the executable's clean
// read-only pages (code, rodata) from this process's page tables. They stay
// in the page cache and fault back in when the monitor runs that code again.
// A mapping with any private (copy-on-write) page is left alone: a
// relocated read-only segment (RELRO, the GOT of static libc's ifuncs)
// would lose its relocations.
func trimMemory() {
	debug.SetGCPercent(25) // an idle monitor allocates little: keep its heap tight
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	for _, r := range cleanExeMappings(exe) {
		madvise(r[0], r[1]-r[0], unix.MADV_NOHUGEPAGE)
		madvise(r[0], r[1]-r[0], unix.MADV_DONTNEED)
	}
}

// cleanExeMappings returns the [start, end) ranges of exe's read-only
// mappings that hold no private (copied or anonymous) pages.
func cleanExeMappings(exe string) [][2]uintptr {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][2]uintptr
	var cur [2]uintptr
	candidate := false
	flush := func() {
		if candidate {
			out = append(out, cur)
		}
		candidate = false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			// A mapping header: start-end perms offset dev inode [path].
			flush()
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			candidate = err1 == nil && err2 == nil && end > start && len(fields) >= 6 &&
				fields[5] == exe && !strings.Contains(fields[1], "w")
			cur = [2]uintptr{uintptr(start), uintptr(end)}
			continue
		}
		switch fields[0] {
		case "Anonymous:", "Private_Dirty:", "Shared_Dirty:":
			if len(fields) > 1 && fields[1] != "0" {
				candidate = false
			}
		}
	}
	flush()
	return out
}

// madvise takes a raw address range from /proc/self/maps (no Go slice
// covers the executable's own mappings).
func madvise(addr, n uintptr, advice int) {
	unix.Syscall(unix.SYS_MADVISE, addr, n, uintptr(advice))
}
