package runtime

// MonitorCommandFor returns the Options.MonitorCommand berth uses:
// "<selfExe> [--root rootFlag] __monitor <id>".
func MonitorCommandFor(selfExe, rootFlag string) func(id string) []string {
	return func(id string) []string {
		args := []string{selfExe}
		if rootFlag != "" {
			args = append(args, "--root", rootFlag)
		}
		return append(args, "__monitor", id)
	}
}
