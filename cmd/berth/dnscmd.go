package main

import "github.com/spf13/cobra"

// newDNSCmd is "berth __dns": the built-in DNS server.
func newDNSCmd(g *globals) *cobra.Command { return nil }
