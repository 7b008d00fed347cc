package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/runtime"
)

// addContainerCommands registers "berth container ..." (alias "c"). The
// top-level run/ps/exec... belong to compose and are not registered here.
func addContainerCommands(root *cobra.Command, g *globals) {
	c := &cobra.Command{Use: "container", Aliases: []string{"c"}, Short: "Manage containers", GroupID: "objects"}
	c.AddCommand(
		newContainerRunCmd(g), newContainerCreateCmd(g), newContainerStartCmd(g),
		newContainerStopCmd(g), newContainerRestartCmd(g), newContainerKillCmd(g), newContainerRmCmd(g),
		newContainerPsCmd(g), newContainerLogsCmd(g), newContainerExecCmd(g), newContainerInspectCmd(g),
		newContainerTopCmd(g), newContainerWaitCmd(g), newContainerAttachCmd(g), newContainerCpCmd(g),
		newContainerExportCmd(g), newContainerCommitCmd(g), newContainerStatsCmd(g), newContainerRenameCmd(g),
		newContainerPruneCmd(g), newContainerPortCmd(g), newContainerPauseCmd(g), newContainerUnpauseCmd(g),
	)
	root.AddCommand(c)
}

// newEngine opens the engine of g's root.
func newEngine(g *globals) (*engine.Engine, error) {
	rt, err := newRuntime(g)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// berth-compose starts the DNS server from the core build next to it:
	// a smaller binary for a long-lived process.
	if filepath.Base(self) == ComposeBinary {
		if core := runtime.Sibling(self, "berth"); core != "" {
			self = core
		}
	}
	argv := []string{self}
	if g.Root != "" {
		argv = append(argv, "--root", g.Layout().Data)
	}
	return engine.New(engine.Options{Layout: g.Layout(), Runtime: rt, Self: argv})
}

// startStatus maps a failed start to Docker's codes: 127 command not
// found, 126 not executable, 125 otherwise.
func startStatus(err error) error {
	var ee *runtime.ExitError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, runtime.ErrCommandNotFound):
		return withStatus(127, err.Error())
	case errors.Is(err, runtime.ErrNotExecutable):
		return withStatus(126, err.Error())
	case errors.As(err, &ee):
		return withStatus(ee.Code, "")
	}
	return err
}

// forEach runs f on every ref, printing each ref that succeeded (Docker's
// stop/rm/kill output) and returning the failures joined.
func forEach(ctx context.Context, c *cobra.Command, refs []string, print bool, f func(context.Context, string) error) error {
	var errs []error
	for _, r := range refs {
		if err := f(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		if print {
			fmt.Fprintln(c.OutOrStdout(), r)
		}
	}
	return errors.Join(errs...)
}
