package main

import "github.com/spf13/cobra"

// newExitedCmd is "berth __exited <id>": the hook a monitor runs when its
// container stopped for good (network teardown, DNS update).
func newExitedCmd(g *globals) *cobra.Command { return nil }
