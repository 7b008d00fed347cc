package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/layout"
)

// globals are the flags every command sees.
type globals struct {
	Root  string // data root; "" = BERTH_ROOT or /var/lib/berth + /run/berth
	Debug bool

	// Project selection for the top-level (compose) commands.
	Files      []string
	Project    string
	ProjectDir string
	EnvFiles   []string
	Profiles   []string
	Progress   string
}

// Layout returns the directories of the selected root.
func (g *globals) Layout() layout.Layout { return layout.New(g.Root) }

var theGlobals = &globals{}

func globalDebug(*cobra.Command) bool { return theGlobals.Debug }

func newRootCmd() *cobra.Command {
	g := theGlobals
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Daemonless compose-style multi-container orchestrator",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			if g.Debug {
				slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
			}
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.Root, "root", "", "data root (default /var/lib/berth and /run/berth; env BERTH_ROOT)")
	pf.BoolVar(&g.Debug, "debug", false, "print debug logs and full error chains")
	pf.StringArrayVarP(&g.Files, "file", "f", nil, "compose configuration files")
	pf.StringVarP(&g.Project, "project-name", "p", "", "project name")
	pf.StringVar(&g.ProjectDir, "project-directory", "", "alternate working directory (default: the first compose file's folder)")
	pf.StringArrayVar(&g.EnvFiles, "env-file", nil, "alternate environment files")
	pf.StringArrayVar(&g.Profiles, "profile", nil, "profiles to enable")
	pf.StringVar(&g.Progress, "progress", "auto", "progress output: auto, tty, plain, quiet, json")

	root.AddGroup(&cobra.Group{ID: "compose", Title: "Project commands:"},
		&cobra.Group{ID: "objects", Title: "Management commands:"})
	addHiddenCommands(root, g)
	addContainerCommands(root, g)
	addImageCommands(root, g)
	addVolumeCommands(root, g)
	addNetworkCommands(root, g)
	addSystemCommands(root, g)
	addComposeCommands(root, g)
	return root
}

// usageError turns a flag or argument error into Docker's exit code 125
// with a hint.
func usageError(c *cobra.Command, err error) error {
	return withStatus(125, err.Error()+"\nSee '"+c.CommandPath()+" --help'.")
}
