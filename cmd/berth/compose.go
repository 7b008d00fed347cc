package main

import "github.com/spf13/cobra"

func addComposeCommands(root *cobra.Command, g *globals) {}
