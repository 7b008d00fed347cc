//go:build !berthcore

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/internal/errdefs"
)

type composeBuildOptions struct {
	NoCache, Pull, Quiet bool
	BuildArgs            []string
}

func newComposeBuildCmd(g *globals) *cobra.Command {
	var o composeBuildOptions
	c := &cobra.Command{
		Use:     "build [OPTIONS] [SERVICE...]",
		Short:   "Build or rebuild services",
		Long:    "Build the images of the services with a build: section (all of them when none is named), tagged with the service's image:, else <project>-<service>.",
		GroupID: "compose",
		RunE: func(c *cobra.Command, args []string) error {
			if o.Pull {
				return fmt.Errorf("build --pull: berth cannot pull images: %w", errdefs.ErrNotImplemented)
			}
			ctx := c.Context()
			env, err := openProject(ctx, g, c.ErrOrStderr(), args...)
			if err != nil {
				return err
			}
			if env.p == nil {
				return fmt.Errorf("build needs the project's compose file: %w", errdefs.ErrNotFound)
			}
			bo := compose.BuildOptions{Args: map[string]string{}}
			if !o.Quiet {
				bo.Output = c.ErrOrStderr()
			}
			for _, a := range o.BuildArgs {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					if v, ok = os.LookupEnv(k); !ok {
						continue
					}
				}
				bo.Args[k] = v
			}
			return compose.BuildServices(ctx, env.b.Builder, env.p, args, bo)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.NoCache, "no-cache", false, "accepted for Docker compatibility: berth has no layer cache yet")
	f.BoolVar(&o.Pull, "pull", false, "always attempt to pull a newer version of the image (berth cannot pull: an error)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "don't print anything")
	stringArrayVarP(f, &o.BuildArgs, "build-arg", "", "set build-time variables for services")
	return c
}

// buildOutput is where the builds of missing images print during up and
// run: stderr, unless the live progress display owns the terminal.
func buildOutput(errw io.Writer) io.Writer {
	if composeIsTerminal(errw) {
		return nil
	}
	return errw
}
