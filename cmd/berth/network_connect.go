package main

import (
	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
)

func newNetworkConnectCmd(g *globals) *cobra.Command {
	var o engine.ConnectOptions
	c := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			return e.Connect(c.Context(), args[1], args[0], o)
		},
	}
	stringArrayVarP(c.Flags(), &o.Aliases, "alias", "", "add a network-scoped alias for the container")
	c.Flags().StringVar(&o.IP, "ip", "", "IPv4 address (e.g. 172.30.100.104)")
	return c
}

func newNetworkDisconnectCmd(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			err = e.Disconnect(c.Context(), args[1], args[0])
			if force && errdefs.IsNotFound(err) {
				return nil
			}
			return err
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "do not fail when the container is not connected")
	return c
}
