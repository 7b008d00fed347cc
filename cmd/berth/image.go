package main

import "github.com/spf13/cobra"

func addImageCommands(root *cobra.Command, g *globals) {}
