package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/runtime"
)

// newMonitorCmd is "berth __monitor <id>": the per-container monitor. It is
// started by runtime.Start (setsid, stdio on /dev/null, a report pipe on fd 3)
// and lives as long as the container.
func newMonitorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:  "__monitor ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := newRuntime(g)
			if err != nil {
				return err
			}
			return runtime.RunMonitor(cmd.Context(), m, args[0], monitorHooks(g))
		},
	}
}

// newHealthCmd is "berth __health <id>": one healthcheck probe of a running
// container, recorded in its state. The idle monitor (which cannot exec into
// a container) starts it on the healthcheck's schedule.
func newHealthCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:  "__health ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := newRuntime(g)
			if err != nil {
				return err
			}
			return runtime.RunHealthcheck(cmd.Context(), m, args[0])
		},
	}
}

// newRuntime builds the runtime Manager of g's root the way every berth
// process must, so that the monitors it spawns use the same root.
func newRuntime(g *globals) (*runtime.Manager, error) {
	l := g.Layout()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	rootFlag := "" // BERTH_ROOT, if any, is inherited by the monitor
	if g.Root != "" {
		rootFlag = l.Data // absolute
	}
	return runtime.New(runtime.Options{
		Root:             l.Containers(),
		RunRoot:          l.RunContainers(),
		LibcontainerRoot: l.Libcontainer(),
		MonitorCommand:   runtime.MonitorCommandFor(self, rootFlag),
	})
}
