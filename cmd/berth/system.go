package main

import "github.com/spf13/cobra"

func addSystemCommands(root *cobra.Command, g *globals) {}
