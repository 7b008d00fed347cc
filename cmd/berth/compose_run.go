//go:build !berthcore

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/compose/enginebackend"
	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/runtime"
)

func newComposeRunCmd(g *globals) *cobra.Command {
	var o composeRunOptions
	c := &cobra.Command{Use: "run [OPTIONS] SERVICE [COMMAND] [ARGS...]", Short: "Run a one-off command on a service",
		GroupID: "compose", Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runComposeRun(c.Context(), g, c, args, o, c.Flags().Changed("entrypoint"))
		}}
	f := c.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&o.Rm, "rm", false, "automatically remove the container when it exits")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run container in background and print container id")
	f.BoolVar(&o.NoDeps, "no-deps", false, "don't start linked services")
	f.BoolVarP(&o.ServicePorts, "service-ports", "P", false, "run command with the service's ports enabled and mapped to the host")
	f.BoolVar(&o.UseAliases, "use-aliases", false, "use the service's network aliases in the networks the container connects to")
	f.BoolVarP(&o.NoTTY, "no-TTY", "T", false, "disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVarP(&o.Interactive, "interactive", "i", true, "keep STDIN open even if not attached")
	f.BoolVar(&o.Build, "build", false, "build image before starting container")
	stringArrayVarP(f, &o.Env, "env", "e", "set environment variables")
	stringArrayVarP(f, &o.Volumes, "volume", "v", "bind mount a volume")
	stringArrayVarP(f, &o.Publish, "publish", "p", "publish a container's port(s) to the host")
	stringArrayVarP(f, &o.Labels, "label", "l", "add or override a label")
	f.StringVar(&o.Name, "name", "", "assign a name to the container")
	f.StringVar(&o.Entrypoint, "entrypoint", "", "override the entrypoint of the image")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.User, "user", "u", "", "run as specified username or uid")
	return c
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func runComposeRun(ctx context.Context, g *globals, c *cobra.Command, args []string, o composeRunOptions, entrypointSet bool) error {
	env, err := openProject(ctx, g, c.ErrOrStderr(), args[0])
	if err != nil {
		return err
	}
	if env.p == nil {
		return fmt.Errorf("run needs the project's compose file: %w", errdefs.ErrNotFound)
	}
	svc, ok := env.p.Service(args[0])
	if !ok {
		return errdefs.Errorf(errdefs.ErrNotFound, "service %q: no such service in project %q", args[0], env.name)
	}
	if o.Build {
		if err := compose.BuildServices(ctx, env.b.Builder, env.p, []string{svc.Name}, compose.BuildOptions{Output: c.ErrOrStderr()}); err != nil {
			return err
		}
	}
	if err := runPlanned(ctx, g, c, env, "Running", compose.ExecOptions{}, func(obs compose.Observed) (compose.Plan, error) {
		return compose.PlanRun(env.p, obs, svc.Name, o.NoDeps)
	}); err != nil {
		return err
	}
	imageID, err := env.b.Images.Exists(ctx, svc.Image)
	if err != nil {
		return fmt.Errorf("service %q: image %q: %w", svc.Name, svc.Image, err)
	}
	labels, err := format.KeyValues("label", o.Labels, true)
	if err != nil {
		return err
	}
	tty := !o.NoTTY && !o.Detach && composeIsTerminal(os.Stdin) && composeIsTerminal(os.Stdout)
	ro := compose.RunOptions{Name: o.Name, Suffix: randomSuffix(), Env: engine.ExpandEnv(o.Env, os.LookupEnv),
		WorkingDir: o.Workdir, User: o.User, Labels: labels, ServicePorts: o.ServicePorts, UseAliases: o.UseAliases,
		Tty: tty, StdinOpen: o.Interactive && !o.Detach}
	if len(args) > 1 {
		ro.Command = args[1:]
	}
	if entrypointSet {
		ro.Entrypoint = strings.Fields(o.Entrypoint)
	}
	spec, err := compose.OneOffSpec(env.p, svc, imageID, ro)
	if err != nil {
		return err
	}
	cfg, err := enginebackend.Config(spec)
	if err != nil {
		return err
	}
	cfg.AutoRemove = o.Rm // see runContainer
	for _, v := range o.Volumes {
		m, err := engine.ParseVolume(v)
		if err != nil {
			return err
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	cfg.Ports = append(cfg.Ports, o.Publish...)
	ctr, err := env.e.Create(ctx, cfg)
	if err != nil {
		return err
	}
	return startOneOff(ctx, c, env.e, ctr.ID, o, tty)
}

func startOneOff(ctx context.Context, c *cobra.Command, e *engine.Engine, id string, o composeRunOptions, tty bool) error {
	remove := func() {
		if o.Rm {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			e.Remove(rctx, id, engine.RemoveOptions{Force: true, Volumes: true})
		}
	}
	if o.Detach {
		if err := e.Start(ctx, id, engine.StartOptions{}); err != nil {
			remove()
			return startStatus(err)
		}
		fmt.Fprintln(c.OutOrStdout(), id)
		return nil
	}
	ro := &runOptions{}
	ro.Interactive, ro.Tty, ro.Rm = o.Interactive, tty, o.Rm
	code, err := attachRun(ctx, e, id, ro)
	if errors.Is(err, runtime.ErrDetached) {
		return nil
	}
	remove()
	if err != nil {
		return startStatus(err)
	}
	if code != 0 {
		return withStatus(code, "")
	}
	return nil
}

func newComposeExecCmd(g *globals) *cobra.Command {
	var o composeExecOptions
	c := &cobra.Command{Use: "exec [OPTIONS] SERVICE COMMAND [ARGS...]", Short: "Execute a command in a running service container",
		GroupID: "compose", Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runComposeExec(c.Context(), g, c, args, o)
		}}
	f := c.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.Detach, "detach", "d", false, "run the command in the background")
	f.BoolVarP(&o.NoTTY, "no-TTY", "T", false, "disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVar(&o.Privileged, "privileged", false, "give extended privileges to the process (not supported)")
	stringArrayVarP(f, &o.Env, "env", "e", "set environment variables")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "path to workdir directory for this command")
	f.StringVarP(&o.User, "user", "u", "", "run the command as this user")
	f.IntVar(&o.Index, "index", 1, "index of the container if the service has multiple replicas")
	return c
}

func runComposeExec(ctx context.Context, g *globals, c *cobra.Command, args []string, o composeExecOptions) error {
	env, err := openProject(ctx, g, c.ErrOrStderr())
	if err != nil {
		return err
	}
	list, err := projectContainers(ctx, env, args[:1], false)
	if err != nil {
		return err
	}
	var target *compose.ObservedContainer
	for i := range list {
		if list[i].Number == o.Index {
			target = &list[i]
		}
	}
	if target == nil || target.State != "running" {
		return fmt.Errorf("service %q: container %d is not running: start it with 'berth up': %w", args[0], o.Index, errdefs.ErrFailedPrecondition)
	}
	tty := !o.NoTTY && !o.Detach && composeIsTerminal(os.Stdin) && composeIsTerminal(os.Stdout)
	spec := runtime.ExecSpec{Args: args[1:], Env: engine.ExpandEnv(o.Env, os.LookupEnv), Cwd: o.Workdir, User: o.User,
		Tty: tty, Detach: o.Detach, Stdout: os.Stdout, Stderr: os.Stderr}
	if !o.Detach {
		spec.Stdin = os.Stdin
	}
	if tty {
		restore, _, err := rawTerminal(ctx)
		if err != nil {
			return err
		}
		defer restore()
	}
	code, err := env.e.Runtime.Exec(ctx, target.ID, spec)
	if err != nil {
		return startStatus(err)
	}
	if code != 0 {
		return withStatus(code, "")
	}
	return nil
}

func newComposeLsCmd(g *globals) *cobra.Command {
	var all, quiet bool
	var format string
	c := &cobra.Command{Use: "ls [OPTIONS]", Short: "List the projects on this host", GroupID: "compose", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			cs, err := e.Runtime.List(c.Context())
			if err != nil {
				return err
			}
			return writeProjects(c, summarizeProjects(cs, all), quiet, format)
		}}
	c.Flags().BoolVarP(&all, "all", "a", false, "show all stopped projects")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display project names")
	c.Flags().StringVar(&format, "format", "table", "format the output: table or json")
	return c
}

// projectRow is one line of `ls`.
type projectRow struct {
	Name        string
	Status      string
	ConfigFiles string
}

// summarizeProjects groups containers by project label: "running(2), exited(1)".
func summarizeProjects(cs []*runtime.Container, all bool) []projectRow {
	counts := map[string]map[string]int{}
	files := map[string]string{}
	for _, c := range cs {
		name := c.Spec.Labels[compose.LabelProject]
		if name == "" {
			continue
		}
		if counts[name] == nil {
			counts[name] = map[string]int{}
		}
		counts[name][c.State.Status]++
		files[name] = c.Spec.Labels[compose.LabelConfigFiles]
	}
	var rows []projectRow
	for name, byStatus := range counts {
		if !all && byStatus["running"] == 0 {
			continue
		}
		var parts []string
		for _, st := range sortedMapKeys(byStatus) {
			parts = append(parts, fmt.Sprintf("%s(%d)", st, byStatus[st]))
		}
		rows = append(rows, projectRow{Name: name, Status: strings.Join(parts, ", "), ConfigFiles: files[name]})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows
}

func writeProjects(c *cobra.Command, rows []projectRow, quiet bool, f string) error {
	out := c.OutOrStdout()
	switch {
	case quiet:
		for _, r := range rows {
			fmt.Fprintln(out, r.Name)
		}
		return nil
	case f == "json":
		if rows == nil {
			rows = []projectRow{}
		}
		return json.NewEncoder(out).Encode(rows)
	case f != "table" && f != "":
		return fmt.Errorf("--format %q: use table or json: %w", f, errdefs.ErrInvalidArgument)
	}
	return format.Rows(out, "", projectTable, format.Values(rows))
}

// projectTable is the table of `ls`.
var projectTable = format.Table{
	Default: "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}",
	Headers: map[string]string{"ConfigFiles": "CONFIG FILES"},
	Compact: true,
}

func newComposeScaleCmd(g *globals) *cobra.Command {
	var noDeps bool
	c := &cobra.Command{Use: "scale [SERVICE=REPLICAS...]", Short: "Scale services", GroupID: "compose", Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			scale, err := parseScale(args)
			if err != nil {
				return err
			}
			var services []string
			for s := range scale {
				services = append(services, s)
			}
			sort.Strings(services)
			o := composeUpOptions{Detach: true, NoRecreate: true, NoDeps: noDeps, Scale: args}
			return runComposeUp(c.Context(), g, c, services, o, false)
		}}
	c.Flags().BoolVar(&noDeps, "no-deps", false, "don't start linked services")
	return c
}
