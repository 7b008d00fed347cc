package main

import "github.com/spf13/cobra"

func addContainerCommands(root *cobra.Command, g *globals) {}
