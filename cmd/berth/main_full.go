//go:build !berthcore

package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
)

// prepare starts what the command args will need: a project command
// loads the compose file, so compose-go's schema starts compiling now.
func prepare(root *cobra.Command, args []string) {
	if loadsProject(root, args) {
		go compose.WarmSchema()
	}
}

// loadsProject reports whether args run a top-level project command, which
// loads the compose file.
func loadsProject(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	if err != nil || c == root || c.Parent() != root || c.Hidden {
		return false
	}
	return !notProjectCommands[c.Name()] && c.Name() != "ls"
}
