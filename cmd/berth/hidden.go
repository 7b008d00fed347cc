package main

import "github.com/spf13/cobra"

// addHiddenCommands registers the re-exec entry points berth starts itself
// with. They are not for users and do not show in help.
func addHiddenCommands(root *cobra.Command, g *globals) {
	for _, c := range []*cobra.Command{newMonitorCmd(g), newHealthCmd(g), newDNSCmd(g), newExitedCmd(g)} {
		if c == nil {
			continue
		}
		c.Hidden = true
		root.AddCommand(c)
	}
}
