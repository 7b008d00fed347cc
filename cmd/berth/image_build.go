package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/engine/builder"
	"github.com/berth/berth/image/build"
	"github.com/berth/berth/internal/errdefs"
)

// buildFlags are `image build`'s flags.
type buildFlags struct {
	Tags      []string
	File      string
	BuildArgs []string
	Labels    []string
	Target    string
	Quiet     bool
	NoCache   bool
	Network   string
}

func newImageBuildCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH",
		Short: "Build an image from a Dockerfile",
		Long: `Build an image from a Dockerfile and the build context PATH, like docker build.

Each RUN runs in a container (on the default bridge network unless --network
says otherwise) whose changes become a layer; COPY and ADD take files from
PATH (less what .dockerignore leaves out) or, with --from, from an earlier
stage or an image in the store. FROM names an image in berth's store or
scratch: berth pulls nothing. berth has no layer cache yet, so every build
runs every step and --no-cache changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options(args[0], os.LookupEnv)
			if err != nil {
				return err
			}
			if !f.Quiet {
				o.Progress = c.ErrOrStderr()
			}
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			img, err := runBuild(c.Context(), e, o)
			if err != nil {
				return err
			}
			if f.Quiet {
				fmt.Fprintln(c.OutOrStdout(), img)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	stringArrayVarP(fl, &f.Tags, "tag", "t", "name and optionally a tag (name:tag) for the image")
	fl.StringVarP(&f.File, "file", "f", "", "name of the Dockerfile (default PATH/Dockerfile)")
	stringArrayVarP(fl, &f.BuildArgs, "build-arg", "", "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
	stringArrayVarP(fl, &f.Labels, "label", "", "set metadata on the image (KEY=VALUE)")
	fl.StringVar(&f.Target, "target", "", "build the named stage (and the stages it needs) only")
	fl.BoolVarP(&f.Quiet, "quiet", "q", false, "print only the image id")
	fl.BoolVar(&f.NoCache, "no-cache", false, "accepted for Docker compatibility: berth has no layer cache yet")
	fl.StringVar(&f.Network, "network", "bridge", "network of the RUN containers: bridge, none or host")
	return cmd
}

// options turns the flags into build.Options.
func (f *buildFlags) options(ctxDir string, lookup func(string) (string, bool)) (build.Options, error) {
	o := build.Options{ContextDir: ctxDir, Dockerfile: f.File, Tags: f.Tags, Target: f.Target,
		BuildArgs: map[string]string{}, Labels: map[string]string{}}
	switch f.Network {
	case "", "bridge", "default":
	case "none", "host":
		o.NetworkMode = f.Network
	default:
		return o, fmt.Errorf("--network %q: berth build takes bridge, none or host: %w", f.Network, errdefs.ErrInvalidArgument)
	}
	if o.Dockerfile != "" && o.Dockerfile != "-" && !filepath.IsAbs(o.Dockerfile) {
		// Docker takes -f relative to the current directory.
		abs, err := filepath.Abs(o.Dockerfile)
		if err != nil {
			return o, err
		}
		o.Dockerfile = abs
	}
	for _, a := range f.BuildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		o.BuildArgs[k] = v
	}
	for _, l := range f.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return o, fmt.Errorf("--label %q: needs KEY=VALUE: %w", l, errdefs.ErrInvalidArgument)
		}
		o.Labels[k] = v
	}
	return o, nil
}

// runBuild builds with e's store and containers and returns the image id
// (a failed RUN exits 1 with Docker's message: see exitCode).
func runBuild(ctx context.Context, e *engine.Engine, o build.Options) (string, error) {
	img, err := builder.Build(ctx, e, o)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}
