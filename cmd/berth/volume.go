package main

import "github.com/spf13/cobra"

func addVolumeCommands(root *cobra.Command, g *globals) {}
