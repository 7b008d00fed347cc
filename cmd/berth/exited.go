package main

import (
	"os/exec"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
)

// newExitedCmd is "berth __exited <id>": the hook a monitor runs when its
// container stopped for good (network teardown, DNS update). For a --rm
// container it starts "__exited --remove <id>" in its own session, which
// removes the container once the monitor is gone.
func newExitedCmd(g *globals) *cobra.Command {
	var remove bool
	c := &cobra.Command{
		Use:  "__exited ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			if remove {
				err := e.Remove(ctx, args[0], engine.RemoveOptions{Force: true, Volumes: true})
				if errdefs.IsNotFound(err) {
					return nil
				}
				return err
			}
			if err := e.Exited(ctx, args[0]); err != nil {
				return err
			}
			if e.AutoRemove(ctx, args[0]) {
				argv := append(append([]string{}, e.Self...), "__exited", "--remove", args[0])
				rm := exec.Command(argv[0], argv[1:]...)
				rm.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				if err := rm.Start(); err != nil {
					return err
				}
				return rm.Process.Release()
			}
			return nil
		},
	}
	c.Flags().BoolVar(&remove, "remove", false, "remove the container (run --rm)")
	return c
}
