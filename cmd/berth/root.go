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

	root.AddGroup(&cobra.Group{ID: "compose", Title: "Project commands:"},
		&cobra.Group{ID: "objects", Title: "Management commands:"})
	addHiddenCommands(root, g)
	addContainerCommands(root, g)
	addImageCommands(root, g)
	addVolumeCommands(root, g)
	addNetworkCommands(root, g)
	addSystemCommands(root, g)
	addComposeCommands(root, g)
	for _, c := range root.Commands() {
		if !c.Hidden && !notProjectCommands[c.Name()] {
			addProjectFlags(c, g)
		}
	}
	return root
}

// notProjectCommands are the top-level commands that do not act on the
// project in the current folder.
var notProjectCommands = map[string]bool{
	"container": true, "image": true, "volume": true, "network": true, "system": true,
	"version": true, "completion": true, "help": true, "info": true,
}

// addProjectFlags gives a top-level project command docker compose's
// project selection flags. They are not persistent on the root: `rm -f`,
// `logs -f` and `run -p` keep Docker Compose's meaning there, and the long
// forms (--file, --project-name) always work. `berth -f x up` still works,
// because cobra finds the command first and then parses every flag with
// the command's own flag set.
func addProjectFlags(c *cobra.Command, g *globals) {
	short := func(s string) string {
		if c.Flags().ShorthandLookup(s) != nil || c.PersistentFlags().ShorthandLookup(s) != nil {
			return ""
		}
		return s
	}
	pf := c.PersistentFlags()
	stringArrayVarP(pf, &g.Files, "file", short("f"), "compose configuration files")
	pf.StringVarP(&g.Project, "project-name", short("p"), "", "project name")
	pf.StringVar(&g.ProjectDir, "project-directory", "", "alternate working directory (default: the first compose file's folder)")
	stringArrayVarP(pf, &g.EnvFiles, "env-file", "", "alternate environment files")
	stringArrayVarP(pf, &g.Profiles, "profile", "", "profiles to enable")
	if c.Flags().Lookup("progress") == nil {
		pf.StringVar(&g.Progress, "progress", "auto", "progress output: auto, tty, plain, quiet, json")
	}
}

// usageError turns a flag or argument error into Docker's exit code 125
// with a hint.
func usageError(c *cobra.Command, err error) error {
	return withStatus(125, err.Error()+"\nSee '"+c.CommandPath()+" --help'.")
}
