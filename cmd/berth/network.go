package main

import "github.com/spf13/cobra"

func addNetworkCommands(root *cobra.Command, g *globals) {}
