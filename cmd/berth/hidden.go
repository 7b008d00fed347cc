package main

import "github.com/spf13/cobra"

func addHiddenCommands(root *cobra.Command, g *globals) {}
