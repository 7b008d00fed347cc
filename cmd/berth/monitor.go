package main

import "github.com/spf13/cobra"

// newMonitorCmd is "berth __monitor <id>": the per-container monitor.
func newMonitorCmd(g *globals) *cobra.Command { return nil }
