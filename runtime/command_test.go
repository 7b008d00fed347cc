package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestMonitorCommandFor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		monitor   os.FileMode // 0: no berth-monitor file
		rootFlag  string
		wantExe   string
		wantTrail []string
	}{
		{name: "self without monitor binary", wantExe: "berth", wantTrail: []string{"__monitor", "ID"}},
		{name: "monitor binary next to berth", monitor: 0o755, wantExe: MonitorBinary, wantTrail: []string{"__monitor", "ID"}},
		{name: "monitor file not executable", monitor: 0o644, wantExe: "berth", wantTrail: []string{"__monitor", "ID"}},
		{name: "root flag", monitor: 0o755, rootFlag: "/r", wantExe: MonitorBinary, wantTrail: []string{"--root", "/r", "__monitor", "ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			self := filepath.Join(dir, "berth")
			if err := os.WriteFile(self, nil, 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.monitor != 0 {
				if err := os.WriteFile(filepath.Join(dir, MonitorBinary), nil, tc.monitor); err != nil {
					t.Fatal(err)
				}
			}
			got := MonitorCommandFor(self, tc.rootFlag)("ID")
			if got[0] != filepath.Join(dir, tc.wantExe) || !slices.Equal(got[1:], tc.wantTrail) {
				t.Fatalf("MonitorCommandFor = %q, want %s %q", got, tc.wantExe, tc.wantTrail)
			}
		})
	}
}
