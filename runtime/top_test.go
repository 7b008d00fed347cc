package runtime

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/user"

	"github.com/berth/berth/internal/errdefs"
)

func TestParsePS(t *testing.T) {
	const psEF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 Nov25 ?        00:01:23 /sbin/init splash
root        4242    4200  0 10:01 ?        00:00:00 sleep 600
nobody      4243    4242  1 10:01 pts/0    00:00:02 sh -c echo  a   b
nobody      5000       1  0 10:02 ?        00:00:00 other
`
	const psM = `    PID TTY          TIME CMD
   4242 ?        00:00:00 sleep
      - -        00:00:00 -
   5000 ?        00:00:00 other
      - -        00:00:00 -
`
	tests := []struct {
		name string
		out  string
		pids []int
		want *ProcessList
	}{
		{"ps -ef keeps the container's pids, the command whole", psEF, []int{4242, 4243, 9999}, &ProcessList{
			Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
			Processes: [][]string{
				{"root", "4242", "4200", "0", "10:01", "?", "00:00:00", "sleep 600"},
				{"nobody", "4243", "4242", "1", "10:01", "pts/0", "00:00:02", "sh -c echo a b"},
			}}},
		{"no pid of the container", psEF, []int{77}, &ProcessList{
			Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, Processes: [][]string{}}},
		{"thread rows follow their process", psM, []int{4242}, &ProcessList{
			Titles:    []string{"PID", "TTY", "TIME", "CMD"},
			Processes: [][]string{{"4242", "?", "00:00:00", "sleep"}, {"-", "-", "00:00:00", "-"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePS([]byte(tt.out), tt.pids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	errs := []struct{ name, out, want string }{
		{"no PID column (ps -o args)", "COMMAND\nsleep 600\n", "Couldn't find PID field in ps output"},
		{"a pid that is no number", "PID CMD\nx1 sleep\n", `unexpected pid "x1"`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePS([]byte(tt.out), []int{1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPSArgs(t *testing.T) {
	if got := psPidsArg([]int{1, 22, 333}); got != "-q1,22,333" {
		t.Errorf("psPidsArg = %q", got)
	}
	for _, ok := range [][]string{{"-ef"}, {"-o", "pid,args"}, {"-o", "pid=PID,comm"}, {"aux"}} {
		if err := validatePSArgs(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"-o", "user=PID,args"}, {"-ouser=PID"}, {"-o", "pid,comm=PIDX"}} {
		if err := validatePSArgs(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: err = %v, want invalid argument", bad, err)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	// comm may hold spaces and parentheses; fields count from the last ')'.
	line := "4242 (a (b) c) S 4200 4242 4242 34816 4242 4194304 100 0 0 0 250 130 0 0 20 0 1 0 98765 1000 100 0 0\n"
	got, err := parseProcStat(line)
	want := procStat{comm: "a (b) c", ppid: 4200, ttyNr: 34816, utime: 250, stime: 130, start: 98765}
	if err != nil || got != want {
		t.Errorf("parseProcStat = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"4242 sleep S 1", "4242 (sleep) S 1 2 3", "4242 (x) S y 1 1 0 1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 1 1"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

func TestProcColumns(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.Local)
	for _, tc := range []struct{ got, want string }{
		{startText(now.Add(-time.Hour), now), "09:30"},
		{startText(time.Date(2026, 3, 7, 23, 0, 0, 0, time.Local), now), "Mar07"},
		{startText(time.Date(2025, 12, 31, 23, 0, 0, 0, time.Local), now), "2025"},
		{ttyName(0), "?"},
		{ttyName(136<<8 | 3), "pts/3"},
		{ttyName(137<<8 | 1), "pts/257"},
		{ttyName(4<<8 | 1), "tty1"},
		{ttyName(4<<8 | 65), "ttyS1"},
		{cpuTimeText(83 * time.Second), "00:01:23"},
		{cpuTimeText(26*time.Hour + 5*time.Second), "1-02:00:05"},
		{strconv.Itoa(cpuPercent(time.Second, 100*time.Second)), "1"},
		{strconv.Itoa(cpuPercent(time.Minute, time.Second)), "99"},
		{strconv.Itoa(cpuPercent(time.Second, 0)), "0"},
		{userName(0, map[int]string{0: "root"}), "root"},
		{userName(998, map[int]string{998: "systemd-network"}), "systemd+"},
		{userName(1234, nil), "1234"},
		{commandText([]byte("sleep\x00600\x00"), "sleep"), "sleep 600"},
		{commandText(nil, "kworker/0:1"), "[kworker/0:1]"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestProcProcessesSelf reads this test's own process, the fallback for a
// host without ps, and compares it with ps when the host has it.
func TestProcProcessesSelf(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	list, err := procProcesses("/proc", []int{pid, gone.Process.Pid}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}; !reflect.DeepEqual(list.Titles, want) {
		t.Errorf("titles %q", list.Titles)
	}
	if len(list.Processes) != 1 {
		t.Fatalf("rows %q: want only this process (the other one has exited)", list.Processes)
	}
	row := list.Processes[0]
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupUid(os.Geteuid()); err == nil {
		uid = u.Name
	}
	if row[0] != uid || row[1] != strconv.Itoa(pid) || row[2] != strconv.Itoa(os.Getppid()) ||
		!strings.HasPrefix(row[7], os.Args[0]+" -test.") {
		t.Errorf("row %q: want user %s, pid %d, ppid %d, command %s -test...", row, uid, pid, os.Getppid(), os.Args[0])
	}
	for i, re := range map[int]string{3: `^\d+$`, 4: `^(\d\d:\d\d|[A-Z][a-z][a-z]\d\d|\d{4})$`, 6: `^\d\d:\d\d:\d\d$`} {
		if !regexp.MustCompile(re).MatchString(row[i]) {
			t.Errorf("%s %q does not match %s", list.Titles[i], row[i], re)
		}
	}
	if _, err := exec.LookPath("ps"); err != nil {
		return
	}
	out, err := exec.Command("ps", "-ef", psPidsArg([]int{pid})).Output()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := parsePS(out, []int{pid})
	if err != nil || len(ps.Processes) != 1 {
		t.Fatalf("ps -ef: %q, %v", out, err)
	}
	for _, i := range []int{0, 1, 2, 4, 5, 7} { // C and TIME move on
		if ps.Processes[0][i] != row[i] {
			t.Errorf("%s: ps says %q, /proc reader %q", list.Titles[i], ps.Processes[0][i], row[i])
		}
	}
}
