package runtime

import (
	"os"
	"path/filepath"
)

// MonitorBinary is the name of the small monitor binary (cmd/berth-monitor)
// that MonitorCommandFor prefers when it sits next to berth.
const MonitorBinary = "berth-monitor"

// MonitorCommandFor returns the Options.MonitorCommand berth uses:
// "<monitor> [--root rootFlag] __monitor <id>", where monitor is the
// berth-monitor binary next to selfExe when there is one (it starts faster
// and stays smaller), else selfExe itself.
func MonitorCommandFor(selfExe, rootFlag string) func(id string) []string {
	exe := selfExe
	if mon := Sibling(selfExe, MonitorBinary); mon != "" {
		exe = mon
	}
	return func(id string) []string {
		args := []string{exe}
		if rootFlag != "" {
			args = append(args, "--root", rootFlag)
		}
		return append(args, "__monitor", id)
	}
}

// Sibling returns the executable file name in the directory of selfExe
// (berth's binaries find each other there), or "" when there is none.
func Sibling(selfExe, name string) string {
	if p := filepath.Join(filepath.Dir(selfExe), name); isExecutable(p) {
		return p
	}
	return ""
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
