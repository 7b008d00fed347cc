//go:build !berthcore

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/compose/enginebackend"
	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
)

// composeBackend returns the engine adapter the project commands drive.
var composeBackend = func(ctx context.Context, g *globals) (compose.Backend, error) {
	e, err := newEngine(g)
	if err != nil {
		return compose.Backend{}, err
	}
	return enginebackend.New(e), nil
}

func addComposeCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newComposeConfigCmd(g), newComposeUpCmd(g), newComposeDownCmd(g), newComposeCreateCmd(g),
		newComposePsCmd(g), newComposeLogsCmd(g), newComposeStartCmd(g), newComposeStopCmd(g),
		newComposeRestartCmd(g), newComposeRmCmd(g), newComposeKillCmd(g),
		newComposePauseCmd(g, true), newComposePauseCmd(g, false), newComposeRunCmd(g), newComposeExecCmd(g),
		newComposeLsCmd(g), newComposeScaleCmd(g), newComposeTopCmd(g), newComposePortCmd(g),
		newComposeImagesCmd(g), newComposeWaitCmd(g), newComposeCpCmd(g), newComposePullCmd(g), newComposeEventsCmd(g))
	root.AddCommand(newComposeBuildCmd(g))
}

// loadProject loads the project the global flags select and prints its
// warnings to stderr.
// Services named on the command line are enabled even when their profile
// is not, as Docker Compose does.
func loadProject(ctx context.Context, g *globals, errw io.Writer, named ...string) (*compose.Project, error) {
	p, err := compose.Load(ctx, compose.LoadOptions{Files: g.Files, ProjectDir: g.ProjectDir,
		EnvFiles: g.EnvFiles, Profiles: g.Profiles, ProjectName: g.Project, Services: named})
	if err != nil {
		return nil, err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(errw, "berth: warning: %s\n", w)
	}
	return p, nil
}

type composeConfigOptions struct {
	Services, Volumes, Networks, Profiles, Images, Quiet bool
	Format                                               string
	Output                                               string
}

func newComposeConfigCmd(g *globals) *cobra.Command {
	var o composeConfigOptions
	c := &cobra.Command{
		Use:     "config [OPTIONS] [SERVICE...]",
		Short:   "Parse, resolve and render the compose file in canonical format",
		GroupID: "compose",
		RunE: func(c *cobra.Command, args []string) error {
			p, err := loadProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if o.Output != "" {
				f, err := os.Create(o.Output)
				if err != nil {
					return fmt.Errorf("config --output %q: %w", o.Output, err)
				}
				defer f.Close()
				out = f
			}
			return runComposeConfig(p, o, out)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.Services, "services", false, "print the service names, one per line")
	f.BoolVar(&o.Volumes, "volumes", false, "print the volume names, one per line")
	f.BoolVar(&o.Networks, "networks", false, "print the network names, one per line")
	f.BoolVar(&o.Profiles, "profiles", false, "print the profile names, one per line")
	f.BoolVar(&o.Images, "images", false, "print the image names, one per line")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only validate the configuration, print nothing")
	f.StringVar(&o.Format, "format", "yaml", "format the output: yaml or json")
	f.StringVarP(&o.Output, "output", "o", "", "save to this file instead of stdout")
	return c
}

func runComposeConfig(p *compose.Project, o composeConfigOptions, out io.Writer) error {
	var list []string
	switch {
	case o.Quiet:
		return nil
	case o.Services:
		list = p.ServiceNames()
	case o.Volumes:
		list = sortedMapKeys(p.Volumes)
	case o.Networks:
		list = sortedMapKeys(p.Networks)
	case o.Profiles:
		list = p.Profiles
	case o.Images:
		for _, s := range p.Services {
			if s.Image != "" {
				list = append(list, s.Image)
			}
		}
	default:
		b, err := p.Render(o.Format)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	for _, l := range list {
		fmt.Fprintln(out, l)
	}
	return nil
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// composeUpOptions are up's flags.
type composeUpOptions struct {
	Detach, Build, NoBuild, ForceRecreate, NoRecreate, NoDeps, RemoveOrphans bool
	Wait, NoStart, AbortOnExit, NoColor, NoLogPrefix, Timestamps, QuietPull  bool
	Scale                                                                    []string
	WaitTimeout, Timeout                                                     int
	ExitCodeFrom, Pull                                                       string
	Attach, NoAttach                                                         []string
}

func newComposeUpCmd(g *globals) *cobra.Command {
	var o composeUpOptions
	c := &cobra.Command{
		Use:     "up [OPTIONS] [SERVICE...]",
		Short:   "Create and start the project's containers",
		GroupID: "compose",
		RunE: func(c *cobra.Command, args []string) error {
			return runComposeUp(c.Context(), g, c, args, o, c.Flags().Changed("timeout"))
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.Detach, "detach", "d", false, "run containers in the background")
	f.BoolVar(&o.Build, "build", false, "build images before starting containers")
	f.BoolVar(&o.NoBuild, "no-build", false, "don't build an image, even if it's missing")
	f.BoolVar(&o.ForceRecreate, "force-recreate", false, "recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&o.NoRecreate, "no-recreate", false, "if containers already exist, don't recreate them")
	f.BoolVar(&o.NoDeps, "no-deps", false, "don't start linked services")
	f.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "remove containers for services not defined in the compose file")
	stringArrayVarP(f, &o.Scale, "scale", "", "scale SERVICE to NUM instances (SERVICE=NUM); overrides scale in the file")
	f.BoolVar(&o.Wait, "wait", false, "wait for services to be running|healthy; implies detached mode")
	f.IntVar(&o.WaitTimeout, "wait-timeout", 0, "maximum duration in seconds to wait for the project to be running|healthy")
	f.BoolVar(&o.NoStart, "no-start", false, "don't start the services after creating them")
	f.BoolVar(&o.AbortOnExit, "abort-on-container-exit", false, "stop all containers if any container was stopped; incompatible with -d")
	f.StringVar(&o.ExitCodeFrom, "exit-code-from", "", "return the exit code of the selected service container; implies --abort-on-container-exit")
	f.IntVarP(&o.Timeout, "timeout", "t", 10, "shutdown timeout in seconds when attached or when containers are recreated")
	f.BoolVar(&o.NoColor, "no-color", false, "produce monochrome output")
	f.BoolVar(&o.NoLogPrefix, "no-log-prefix", false, "don't print a prefix in logs")
	f.BoolVar(&o.Timestamps, "timestamps", false, "show timestamps")
	f.StringVar(&o.Pull, "pull", "missing", "pull image before running (always|missing|never)")
	f.BoolVar(&o.QuietPull, "quiet-pull", false, "pull without printing progress information")
	stringArrayVarP(f, &o.Attach, "attach", "", "restrict attaching to these services")
	stringArrayVarP(f, &o.NoAttach, "no-attach", "", "do not attach (stream logs) to these services")
	return c
}

func parseScale(flags []string) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range flags {
		name, num, ok := strings.Cut(s, "=")
		var n int
		if _, err := fmt.Sscanf(num, "%d", &n); !ok || err != nil || n < 0 || name == "" {
			return nil, fmt.Errorf("--scale %q: use SERVICE=NUM: %w", s, errdefs.ErrInvalidArgument)
		}
		out[name] = n
	}
	return out, nil
}

// progressWriter returns the writer --progress selects, on stderr.
func isTTY(f *os.File) bool { return term.IsTerminal(f.Fd()) }

func progressWriter(g *globals, errw io.Writer, title string) (compose.ProgressWriter, error) {
	return compose.NewProgressWriter(errw, g.Progress, composeIsTerminal(errw), title)
}

func runComposeUp(ctx context.Context, g *globals, c *cobra.Command, services []string, o composeUpOptions, timeoutSet bool) error {
	if o.Wait {
		o.Detach = true
	}
	if o.ExitCodeFrom != "" {
		o.AbortOnExit = true
	}
	if o.Detach && o.AbortOnExit {
		return fmt.Errorf("-d and --abort-on-container-exit are incompatible: %w", errdefs.ErrInvalidArgument)
	}
	if o.Pull == "always" {
		return fmt.Errorf("up --pull always: berth cannot pull yet (import, load or build images): %w", errdefs.ErrNotImplemented)
	}
	scale, err := parseScale(o.Scale)
	if err != nil {
		return err
	}
	p, err := loadProject(ctx, g, c.ErrOrStderr(), services...)
	if err != nil {
		return err
	}
	b, err := composeBackend(ctx, g)
	if err != nil {
		return err
	}
	if o.Build {
		if err := compose.BuildServices(ctx, b.Builder, p, services, compose.BuildOptions{Output: c.ErrOrStderr()}); err != nil {
			return err
		}
	}
	pw, err := progressWriter(g, c.ErrOrStderr(), "Running")
	if err != nil {
		return err
	}
	eo := compose.ExecOptions{Progress: pw, DataDir: g.Layout().Projects(), WaitTimeout: time.Duration(o.WaitTimeout) * time.Second,
		Parallel: parallelLimit(), BuildOutput: buildOutput(c.ErrOrStderr())}
	if timeoutSet {
		t := time.Duration(o.Timeout) * time.Second
		eo.StopTimeout = &t
	}
	plan, err := compose.Up(ctx, b, p, compose.UpOptions{LockDir: g.Layout().Projects(), Exec: eo, Plan: compose.PlanOptions{
		Services: services, ForceRecreate: o.ForceRecreate, NoRecreate: o.NoRecreate, NoDeps: o.NoDeps,
		RemoveOrphans: o.RemoveOrphans, NoStart: o.NoStart, Scale: scale}})
	pw.Close()
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.ErrOrStderr(), "berth: warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	if o.Wait {
		wctx := ctx
		if o.WaitTimeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, time.Duration(o.WaitTimeout)*time.Second)
			defer cancel()
		}
		return compose.WaitReady(wctx, b, p.Name, services, 0)
	}
	if o.Detach {
		return nil
	}
	return attachUp(ctx, g, c, p, b, attachedServices(p, services, o), o)
}

// attachedServices are the services whose logs an attached up shows:
// --attach, else the selected ones (all when none), minus --no-attach.
func attachedServices(p *compose.Project, services []string, o composeUpOptions) []string {
	base := o.Attach
	if len(base) == 0 {
		base = services
	}
	if len(base) == 0 {
		base = p.ServiceNames()
	}
	skip := map[string]bool{}
	for _, s := range o.NoAttach {
		skip[s] = true
	}
	var out []string
	for _, s := range base {
		if !skip[s] {
			out = append(out, s)
		}
	}
	return out
}

type composeDownOptions struct {
	Volumes, RemoveOrphans bool
	Rmi                    string
	Timeout                int
}

func newComposeDownCmd(g *globals) *cobra.Command {
	var o composeDownOptions
	c := &cobra.Command{
		Use:     "down [OPTIONS] [SERVICE...]",
		Short:   "Stop and remove the project's containers and networks",
		GroupID: "compose",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runComposeDown(c.Context(), g, c, o, c.Flags().Changed("timeout"))
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.Volumes, "volumes", "v", false, "remove named volumes declared in the volumes section and anonymous volumes")
	f.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "remove containers for services not defined in the compose file")
	f.StringVar(&o.Rmi, "rmi", "", `remove images used by services: "local" (only images without a custom tag) or "all"`)
	f.IntVarP(&o.Timeout, "timeout", "t", 10, "shutdown timeout in seconds")
	return c
}

func runComposeDown(ctx context.Context, g *globals, c *cobra.Command, o composeDownOptions, timeoutSet bool) error {
	if o.Rmi != "" && o.Rmi != "local" && o.Rmi != "all" {
		return fmt.Errorf("--rmi %q: use local or all: %w", o.Rmi, errdefs.ErrInvalidArgument)
	}
	p, err := loadProject(ctx, g, c.ErrOrStderr())
	name := g.Project
	switch {
	case err == nil:
		name = p.Name
	case errdefs.IsNotFound(err) && name != "":
		p = nil // no file: remove what carries the project's labels
	default:
		return err
	}
	b, err := composeBackend(ctx, g)
	if err != nil {
		return err
	}
	pw, err := progressWriter(g, c.ErrOrStderr(), "Running")
	if err != nil {
		return err
	}
	eo := compose.ExecOptions{Progress: pw, DataDir: g.Layout().Projects(), Parallel: parallelLimit()}
	if timeoutSet {
		t := time.Duration(o.Timeout) * time.Second
		eo.StopTimeout = &t
	}
	plan, err := compose.Down(ctx, b, name, p, compose.DownOptions{Volumes: o.Volumes, RemoveOrphans: o.RemoveOrphans}, eo, g.Layout().Projects())
	pw.Close()
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.ErrOrStderr(), "berth: warning: %s\n", w)
	}
	if err != nil || o.Rmi == "" || p == nil {
		return err
	}
	return removeProjectImages(ctx, g, c, p, o.Rmi == "all")
}

// removeProjectImages is down --rmi: every service image with all, else
// only those the project names itself (services with build: and without
// image:, whose image is <project>-<service>). Images in use stay.
func removeProjectImages(ctx context.Context, g *globals, c *cobra.Command, p *compose.Project, all bool) error {
	e, err := newEngine(g)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range p.Services {
		ref := s.Image
		local := s.Build != nil && ref == p.Name+"-"+s.Name
		if ref == "" || seen[ref] || (!all && !local) {
			continue
		}
		seen[ref] = true
		if _, err := e.Images.Remove(ctx, ref, image.RemoveOptions{InUse: e.ImageInUse(ctx)}); err != nil {
			if !errdefs.IsNotFound(err) {
				fmt.Fprintf(c.ErrOrStderr(), "berth: warning: image %q: %v\n", ref, err)
			}
			continue
		}
		fmt.Fprintf(c.ErrOrStderr(), " Image %s  Removed\n", ref)
	}
	return nil
}

func newComposeCreateCmd(g *globals) *cobra.Command {
	var o composeUpOptions
	c := &cobra.Command{
		Use:     "create [OPTIONS] [SERVICE...]",
		Short:   "Create the project's containers without starting them",
		GroupID: "compose",
		RunE: func(c *cobra.Command, args []string) error {
			o.Detach, o.NoStart = true, true
			return runComposeUp(c.Context(), g, c, args, o, false)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.Build, "build", false, "build images before starting containers")
	f.BoolVar(&o.ForceRecreate, "force-recreate", false, "recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&o.NoRecreate, "no-recreate", false, "if containers already exist, don't recreate them")
	f.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "remove containers for services not defined in the compose file")
	stringArrayVarP(f, &o.Scale, "scale", "", "scale SERVICE to NUM instances (SERVICE=NUM)")
	f.StringVar(&o.Pull, "pull", "missing", "pull image before running (always|missing|never)")
	return c
}

// composeLogsOptions are logs' flags (and what up passes when attached).
type composeLogsOptions struct {
	Follow, Timestamps, NoColor, NoLogPrefix bool
	Tail, Since, Until                       string
	Index                                    int
}

type composePsOptions struct {
	All, Quiet, Services, NoTrunc bool
	Status, Filter                []string
	Format                        string
}

type composeExecOptions struct {
	Detach, NoTTY, Privileged bool
	Env                       []string
	Workdir, User             string
	Index                     int
}

type composeRunOptions struct {
	Rm, Detach, NoDeps, ServicePorts, UseAliases, NoTTY, Interactive, Build bool
	Env, Volumes, Publish, Labels                                           []string
	Name, Entrypoint, Workdir, User                                         string
}
