package main

import (
	"github.com/spf13/cobra"
)

// newExitedCmd is "berth __exited <id>": the hook a monitor runs when its
// container stopped for good (network teardown, DNS update).
func newExitedCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:  "__exited ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			return e.Exited(cmd.Context(), args[0])
		},
	}
}
