package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/dns"
)

// newDNSCmd is "berth __dns": the built-in DNS server. The engine starts it
// through dns.Ensure with argv [berth, --root R, __dns]; it serves until no
// berth network remains or it gets SIGTERM. Upstreams: see package dns
// (BERTH_DNS_UPSTREAM, else the host's resolv.conf).
func newDNSCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "__dns",
		Short: "Run the built-in DNS server (internal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return dns.Serve(cmd.Context(), g.Layout().DNS())
		},
	}
}
