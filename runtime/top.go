package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/user"

	"github.com/berth/berth/internal/errdefs"
)

// ProcessList is what `top` prints: the column titles and one row of as
// many fields per process (Docker's ContainerTopOKBody).
type ProcessList struct {
	Titles    []string
	Processes [][]string
}

// Processes lists a running container's processes as `docker top` does:
// it runs the host's ps with psArgs (default -ef) and keeps the rows whose
// PID is one of the container's. Without ps on the host it reads /proc
// itself into ps -ef's columns (UID PID PPID C STIME TTY TIME CMD); psArgs
// then fail with ErrFailedPrecondition. A container that is not running is
// ErrFailedPrecondition; ps output without a PID column (ps -o args) is
// ErrInvalidArgument.
func (m *Manager) Processes(ctx context.Context, ref string, psArgs []string) (*ProcessList, error) {
	pids, err := m.Top(ctx, ref)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ps"); err != nil {
		if len(psArgs) > 0 {
			return nil, errdefs.Errorf(errdefs.ErrFailedPrecondition, "ps options %q need ps on the host: install procps", strings.Join(psArgs, " "))
		}
		return procProcesses("/proc", pids, time.Now())
	}
	return psProcesses(ctx, psArgs, pids)
}

// psProcesses runs ps as Docker's daemon does: with the pids as -q first
// (quick), and again without when ps refuses that (some options, like f,
// do not mix with -q); the rows are filtered either way.
func psProcesses(ctx context.Context, psArgs []string, pids []int) (*ProcessList, error) {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	if err := validatePSArgs(psArgs); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "ps", append(slices.Clone(psArgs), psPidsArg(pids))...).Output()
	if err != nil {
		out, err = exec.CommandContext(ctx, "ps", psArgs...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if line, _, _ := strings.Cut(string(ee.Stderr), "\n"); line != "" {
					err = errors.New(line) // ps's first line says why
				}
			}
			return nil, fmt.Errorf("ps: %w", err)
		}
	}
	return parsePS(out, pids)
}

// validatePSArgs refuses renaming a column to PID (ps -o user=PID), which
// would make another column pass for the pids.
func validatePSArgs(args []string) error {
	for _, a := range args {
		for _, spec := range strings.Split(a, ",") {
			k, v, ok := strings.Cut(spec, "=")
			if ok && strings.HasPrefix(strings.TrimSpace(v), "PID") && strings.TrimLeft(k, "-o") != "pid" {
				return errdefs.Errorf(errdefs.ErrInvalidArgument, "specifying %q is not allowed", spec)
			}
		}
	}
	return nil
}

// psPidsArg is ps's quick pid selection: -q1,2,3.
func psPidsArg(pids []int) string {
	b := []byte("-q")
	for i, p := range pids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	return string(b)
}

// fieldsASCII is strings.Fields on ASCII white space only: a command line
// may hold other spaces, which must stay inside its field.
func fieldsASCII(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\f', '\r', ' ':
			return true
		}
		return false
	})
}

// parsePS keeps the rows of ps output whose PID is in pids, as Docker does:
// the PID column is found in the header; the last column takes the rest of
// the line (a command with spaces); a row whose PID is "-" (a thread, with
// ps -m) belongs to the process above it.
func parsePS(out []byte, pids []int) (*ProcessList, error) {
	lines := strings.Split(string(out), "\n")
	list := &ProcessList{Titles: fieldsASCII(lines[0]), Processes: [][]string{}}
	pidIndex := slices.Index(list.Titles, "PID")
	if pidIndex < 0 { // Docker's words, capital and all: scripts match them
		return nil, errdefs.Errorf(errdefs.ErrInvalidArgument, "Couldn't find PID field in ps output")
	}
	keep := false // the last row with a pid was the container's
	for _, line := range lines[1:] {
		fields := fieldsASCII(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) <= pidIndex {
			return nil, fmt.Errorf("unexpected ps output line %q", line)
		}
		if fields[pidIndex] == "-" {
			if keep {
				list.Processes = append(list.Processes, psRow(fields, len(list.Titles)))
			}
			continue
		}
		p, err := strconv.Atoi(fields[pidIndex])
		if err != nil {
			return nil, fmt.Errorf("unexpected pid %q: %w", fields[pidIndex], err)
		}
		keep = slices.Contains(pids, p)
		if keep {
			list.Processes = append(list.Processes, psRow(fields, len(list.Titles)))
		}
	}
	return list, nil
}

// psRow makes fields exactly n long: the overhanging ones join the last.
func psRow(fields []string, n int) []string {
	if len(fields) < n {
		return append(fields, make([]string, n-len(fields))...)
	}
	return append(fields[:n-1:n-1], strings.Join(fields[n-1:], " "))
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture berth runs on (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// procProcesses is the fallback when the host has no ps: the pids' rows in
// ps -ef's columns, read from procDir (/proc) and /etc/passwd, with now as
// the time STIME and C are relative to. A pid that is gone meanwhile is
// left out.
func procProcesses(procDir string, pids []int, now time.Time) (*ProcessList, error) {
	boot, err := bootTime(procDir)
	if err != nil {
		return nil, err
	}
	users := map[int]string{}
	if pw, err := user.ParsePasswdFile("/etc/passwd"); err == nil {
		for _, u := range pw {
			if _, ok := users[u.Uid]; !ok {
				users[u.Uid] = u.Name
			}
		}
	}
	list := &ProcessList{Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, Processes: [][]string{}}
	for _, pid := range pids {
		row, err := procRow(procDir, pid, users, boot, now)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		list.Processes = append(list.Processes, row)
	}
	return list, nil
}

// bootTime is /proc/stat's btime.
func bootTime(procDir string) (time.Time, error) {
	data, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s/stat: btime %q: %w", procDir, v, err)
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s/stat: no btime", procDir)
}

// procStat holds the fields of /proc/PID/stat that top shows.
type procStat struct {
	comm                string
	ppid, ttyNr         int
	utime, stime, start uint64 // clock ticks; start is since boot
}

// parseProcStat reads /proc/PID/stat: "pid (comm) state ppid ...". comm
// may hold spaces and parentheses, so the fields start after the last ')'.
func parseProcStat(data string) (procStat, error) {
	open, end := strings.IndexByte(data, '('), strings.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("stat %q: no (comm)", data)
	}
	f := strings.Fields(data[end+1:]) // f[0] is field 3, state
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("stat %q: %d fields", data, len(f)+2)
	}
	st := procStat{comm: data[open+1 : end]}
	var errs []error
	num := func(i int) uint64 {
		n, err := strconv.ParseUint(f[i-3], 10, 64)
		errs = append(errs, err)
		return n
	}
	st.ppid, st.ttyNr = int(num(4)), int(int32(num(7)))
	st.utime, st.stime, st.start = num(14), num(15), num(22)
	if err := errors.Join(errs...); err != nil {
		return procStat{}, fmt.Errorf("stat %q: %w", data, err)
	}
	return st, nil
}

// procRow is one ps -ef row for pid.
func procRow(procDir string, pid int, users map[int]string, boot, now time.Time) ([]string, error) {
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	data, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	st, err := parseProcStat(string(data))
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return nil, err
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil, err
	}
	started := boot.Add(ticks(st.start))
	cpu := ticks(st.utime + st.stime)
	return []string{
		userName(effectiveUID(string(status)), users), strconv.Itoa(pid), strconv.Itoa(st.ppid),
		strconv.Itoa(cpuPercent(cpu, now.Sub(started))), startText(started, now), ttyName(st.ttyNr),
		cpuTimeText(cpu), commandText(cmdline, st.comm),
	}, nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// effectiveUID is the second Uid: of /proc/PID/status (-1 if missing).
func effectiveUID(status string) int {
	for _, l := range strings.Split(status, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "Uid:" {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n
			}
		}
	}
	return -1
}

// userName is ps's UID column: the name, cut to 7 characters and a "+"
// when longer than 8; the number without a name.
func userName(uid int, users map[int]string) string {
	name, ok := users[uid]
	if !ok {
		return strconv.Itoa(uid)
	}
	if len(name) > 8 {
		return name[:7] + "+"
	}
	return name
}

// cpuPercent is ps's C: CPU time over time alive, in percent, at most 99.
func cpuPercent(cpu, alive time.Duration) int {
	if alive <= 0 {
		return 0
	}
	return min(int(cpu*100/alive), 99)
}

// startText is ps's STIME: HH:MM today, MonDD this year, else the year.
func startText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	switch {
	case t.Year() != now.Year():
		return t.Format("2006")
	case t.YearDay() != now.YearDay():
		return t.Format("Jan02")
	}
	return t.Format("15:04")
}

// ttyName is ps's TTY for a stat tty_nr: "?" for none, pts/N, ttyN, ttySN.
func ttyName(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", minor+(major-136)*256)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	}
	return "?"
}

// cpuTimeText is ps's TIME: [DD-]HH:MM:SS of CPU time.
func cpuTimeText(d time.Duration) string {
	s := int64(d / time.Second)
	out := fmt.Sprintf("%02d:%02d:%02d", s/3600%24, s/60%60, s%60)
	if days := s / 86400; days > 0 {
		out = fmt.Sprintf("%d-%s", days, out)
	}
	return out
}

// commandText is ps's CMD: the arguments joined by spaces, or [comm] for a
// process without any (a zombie).
func commandText(cmdline []byte, comm string) string {
	cmd := string(bytes.TrimRight(cmdline, "\x00"))
	if cmd == "" {
		return "[" + comm + "]"
	}
	return strings.ReplaceAll(cmd, "\x00", " ")
}
