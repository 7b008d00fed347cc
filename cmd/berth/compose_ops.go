//go:build !berthcore

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/compose/enginebackend"
	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/format"
)

// projectEnv is what a project command works with: the project (nil when
// only -p names it), its name, the engine and compose's backend over it.
type projectEnv struct {
	p    *compose.Project
	name string
	e    *engine.Engine
	b    compose.Backend
}

// openProject loads the selected project; without a compose file, -p alone
// names it (commands then act on the containers labelled with it).
func openProject(ctx context.Context, g *globals, errw io.Writer, named ...string) (*projectEnv, error) {
	p, err := loadProject(ctx, g, errw, named...)
	env := &projectEnv{p: p, name: g.Project}
	switch {
	case err == nil:
		env.name = p.Name
	case errdefs.IsNotFound(err) && g.Project != "":
	default:
		return nil, err
	}
	e, err := newEngine(g)
	if err != nil {
		return nil, err
	}
	env.e, env.b = e, enginebackend.New(e)
	return env, nil
}

// runPlanned observes the project, plans with mk and executes the plan
// under the project lock, with progress on stderr.
func runPlanned(ctx context.Context, g *globals, c *cobra.Command, env *projectEnv, title string,
	eo compose.ExecOptions, mk func(compose.Observed) (compose.Plan, error)) error {
	l, err := compose.LockProject(ctx, g.Layout().Projects(), env.name)
	if err != nil {
		return err
	}
	defer l.Unlock()
	obs, err := compose.Observe(ctx, env.b, env.name, env.p)
	if err != nil {
		return err
	}
	plan, err := mk(obs)
	if err != nil {
		return err
	}
	pw, err := progressWriter(g, c.ErrOrStderr(), title)
	if err != nil {
		return err
	}
	eo.Progress, eo.DataDir, eo.Parallel = pw, g.Layout().Projects(), parallelLimit()
	eo.BuildOutput = buildOutput(c.ErrOrStderr())
	err = compose.Execute(ctx, env.b, plan, eo)
	pw.Close()
	return err
}

// parallelLimit is COMPOSE_PARALLEL_LIMIT, Docker Compose's bound on
// concurrent operations (0: compose's default).
func parallelLimit() int {
	n, err := strconv.Atoi(os.Getenv("COMPOSE_PARALLEL_LIMIT"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func secondsFlag(c *cobra.Command, name string, secs int) *time.Duration {
	if !c.Flags().Changed(name) {
		return nil
	}
	d := time.Duration(secs) * time.Second
	return &d
}

func newComposeStopCmd(g *globals) *cobra.Command {
	var secs int
	c := &cobra.Command{Use: "stop [OPTIONS] [SERVICE...]", Short: "Stop the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			eo := compose.ExecOptions{StopTimeout: secondsFlag(c, "timeout", secs)}
			return runPlanned(c.Context(), g, c, env, "Stopping", eo, func(obs compose.Observed) (compose.Plan, error) {
				return compose.PlanStop(env.p, obs, services)
			})
		}}
	c.Flags().IntVarP(&secs, "timeout", "t", 10, "specify a shutdown timeout in seconds")
	return c
}

func newComposeStartCmd(g *globals) *cobra.Command {
	var waitSecs int
	c := &cobra.Command{Use: "start [SERVICE...]", Short: "Start the project's existing containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			if env.p == nil {
				return fmt.Errorf("start needs the project's compose file (for the dependency order): %w", errdefs.ErrNotFound)
			}
			eo := compose.ExecOptions{WaitTimeout: time.Duration(waitSecs) * time.Second}
			return runPlanned(c.Context(), g, c, env, "Running", eo, func(obs compose.Observed) (compose.Plan, error) {
				return compose.PlanStart(env.p, obs, services)
			})
		}}
	c.Flags().IntVar(&waitSecs, "wait-timeout", 0, "maximum seconds to wait for dependencies")
	return c
}

func newComposeRestartCmd(g *globals) *cobra.Command {
	var secs int
	var noDeps bool
	c := &cobra.Command{Use: "restart [OPTIONS] [SERVICE...]", Short: "Restart the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			if env.p == nil {
				return fmt.Errorf("restart needs the project's compose file (for the dependency order): %w", errdefs.ErrNotFound)
			}
			eo := compose.ExecOptions{StopTimeout: secondsFlag(c, "timeout", secs)}
			if err := runPlanned(c.Context(), g, c, env, "Restarting", eo, func(obs compose.Observed) (compose.Plan, error) {
				return compose.PlanStop(env.p, obs, services)
			}); err != nil {
				return err
			}
			return runPlanned(c.Context(), g, c, env, "Restarting", eo, func(obs compose.Observed) (compose.Plan, error) {
				return compose.PlanStart(env.p, obs, services)
			})
		}}
	c.Flags().IntVarP(&secs, "timeout", "t", 10, "specify a shutdown timeout in seconds")
	c.Flags().BoolVar(&noDeps, "no-deps", false, "don't restart dependent services")
	return c
}

func newComposeRmCmd(g *globals) *cobra.Command {
	var force, stop, volumes bool
	c := &cobra.Command{Use: "rm [OPTIONS] [SERVICE...]", Short: "Remove the project's stopped containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			return runPlanned(c.Context(), g, c, env, "Removing", compose.ExecOptions{}, func(obs compose.Observed) (compose.Plan, error) {
				return compose.PlanRemove(env.p, obs, services, stop)
			})
		}}
	c.Flags().BoolVarP(&force, "force", "f", false, "don't ask to confirm removal (berth never asks)")
	c.Flags().BoolVarP(&stop, "stop", "s", false, "stop the containers, if required, before removing")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove any anonymous volumes attached to containers")
	return c
}

// projectContainers returns the project's containers of services (all
// when empty), by service then number; one-off containers only when oneOff.
func projectContainers(ctx context.Context, env *projectEnv, services []string, oneOff bool) ([]compose.ObservedContainer, error) {
	list, err := env.b.Containers.List(ctx, env.name)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	var out []compose.ObservedContainer
	for _, c := range list {
		if (len(want) == 0 || want[c.Service]) && (oneOff || !c.OneOff) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Number < out[j].Number
	})
	return out, nil
}

// newComposeEachCmd makes a command that applies op to every running (or
// every, when all) container of the selected services.
func newComposeEachCmd(g *globals, use, short string, all bool, bind func(*cobra.Command),
	op func(ctx context.Context, c *cobra.Command, e *engine.Engine, ct compose.ObservedContainer) error) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			list, err := projectContainers(c.Context(), env, services, false)
			if err != nil {
				return err
			}
			var failed []string
			for _, ct := range list {
				if !all && ct.State != "running" && ct.State != "paused" {
					continue
				}
				if err := op(c.Context(), c, env.e, ct); err != nil {
					fmt.Fprintf(c.ErrOrStderr(), "berth: %s: %v\n", ct.Name, err)
					failed = append(failed, ct.Name)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("%s failed for %s", strings.Fields(use)[0], strings.Join(failed, ", "))
			}
			return nil
		}}
	if bind != nil {
		bind(c)
	}
	return c
}

func newComposeKillCmd(g *globals) *cobra.Command {
	var sig string
	var orphans bool
	return newComposeEachCmd(g, "kill [OPTIONS] [SERVICE...]", "Force stop the project's containers", false,
		func(c *cobra.Command) {
			c.Flags().StringVarP(&sig, "signal", "s", "SIGKILL", "SIGNAL to send to the container")
			c.Flags().BoolVar(&orphans, "remove-orphans", false, "remove containers for services not defined in the compose file")
		},
		func(ctx context.Context, _ *cobra.Command, e *engine.Engine, ct compose.ObservedContainer) error {
			return e.Kill(ctx, ct.ID, sig)
		})
}

func newComposePauseCmd(g *globals, pause bool) *cobra.Command {
	use, short := "pause [SERVICE...]", "Pause the project's containers"
	if !pause {
		use, short = "unpause [SERVICE...]", "Unpause the project's containers"
	}
	return newComposeEachCmd(g, use, short, false, nil,
		func(ctx context.Context, _ *cobra.Command, e *engine.Engine, ct compose.ObservedContainer) error {
			if pause {
				return e.Runtime.Pause(ctx, ct.ID)
			}
			return e.Runtime.Unpause(ctx, ct.ID)
		})
}

func newComposePsCmd(g *globals) *cobra.Command {
	var o composePsOptions
	c := &cobra.Command{Use: "ps [OPTIONS] [SERVICE...]", Short: "List the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			return runComposePs(c.Context(), g, c, services, o)
		}}
	f := c.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "show all stopped containers")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only display ids")
	f.BoolVar(&o.Services, "services", false, "display services")
	stringArrayVarP(f, &o.Status, "status", "", "filter services by status: created, restarting, running, removing, paused, exited, dead")
	stringArrayVarP(f, &o.Filter, "filter", "", "filter services by a property (status=running)")
	f.StringVar(&o.Format, "format", "table", "format the output: table, json or a Go template")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "don't truncate output")
	return c
}

func runComposePs(ctx context.Context, g *globals, c *cobra.Command, services []string, o composePsOptions) error {
	env, err := openProject(ctx, g, c.ErrOrStderr())
	if err != nil {
		return err
	}
	mine, err := projectContainers(ctx, env, services, true)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, ct := range mine {
		ids[ct.ID] = true
	}
	all, err := env.e.List(ctx)
	if err != nil {
		return err
	}
	var list []*engine.Details
	for _, d := range all {
		if ids[d.ID] {
			list = append(list, d)
		}
	}
	if o.Services {
		seen := map[string]bool{}
		for _, ct := range mine {
			if !seen[ct.Service] && (o.All || ct.State == "running") {
				seen[ct.Service] = true
				fmt.Fprintln(c.OutOrStdout(), ct.Service)
			}
		}
		return nil
	}
	filters := append([]string(nil), o.Filter...)
	for _, s := range o.Status {
		filters = append(filters, "status="+s)
	}
	po := engine.PsOptions{All: o.All || len(o.Status) > 0, Quiet: o.Quiet, Filters: filters, Format: o.Format, NoTrunc: true}
	if o.Quiet || (o.Format != "" && o.Format != "table" && o.Format != "json") {
		return engine.Ps(c.OutOrStdout(), list, po, time.Now())
	}
	po.Quiet, po.Format = false, ""
	if list, err = engine.FilterPs(list, po); err != nil {
		return err
	}
	return writeComposePs(c.OutOrStdout(), list, o.Format == "json", o.NoTrunc, time.Now())
}

// composePsRow is one container as `ps` shows it, Docker Compose's columns.
type composePsRow struct {
	Name, Image, Command, Service, Created, State, Status, Ports string

	noTrunc bool
}

// QuotedCommand is the COMMAND column: the command line in quotes, cut to
// 20 characters and an ellipsis like Docker Compose's unless --no-trunc.
func (r composePsRow) QuotedCommand() string {
	cmd := r.Command
	if rs := []rune(cmd); !r.noTrunc && len(rs) > 20 {
		cmd = string(rs[:19]) + "…"
	}
	return strconv.Quote(cmd)
}

// composePsTable is the table of `ps`.
var composePsTable = format.Table{
	Default: "table {{.Name}}\t{{.Image}}\t{{.QuotedCommand}}\t{{.Service}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}",
	Headers: map[string]string{"QuotedCommand": "COMMAND"},
	Compact: true,
}

// writeComposePs prints NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS
// sorted by name, or the rows as JSON.
func writeComposePs(w io.Writer, list []*engine.Details, asJSON, noTrunc bool, now time.Time) error {
	rows := []composePsRow{}
	for _, d := range list {
		cmd := strings.Join(append(append([]string{}, d.Path), d.Args...), " ")
		created, _ := time.Parse(time.RFC3339Nano, d.Created)
		rows = append(rows, composePsRow{Name: strings.TrimPrefix(d.Name, "/"), Image: d.Config.Image,
			Command: cmd, Service: d.Config.Labels[compose.LabelService],
			Created: units.HumanDuration(now.Sub(created)) + " ago", State: d.State.Status,
			Status: engine.StatusText(d.State, now), Ports: engine.PortsText(d.NetworkSettings.Ports), noTrunc: noTrunc})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	if asJSON {
		return json.NewEncoder(w).Encode(rows)
	}
	return format.Rows(w, "", composePsTable, format.Values(rows))
}

func newComposeLogsCmd(g *globals) *cobra.Command {
	var o composeLogsOptions
	c := &cobra.Command{Use: "logs [OPTIONS] [SERVICE...]", Short: "View output from the project's containers", GroupID: "compose",
		RunE: func(c *cobra.Command, services []string) error {
			env, err := openProject(c.Context(), g, c.ErrOrStderr())
			if err != nil {
				return err
			}
			read, err := o.read()
			if err != nil {
				return err
			}
			mux := compose.NewLogMux(c.OutOrStdout(), compose.LogOptions{NoColor: o.NoColor || !composeIsTerminal(c.OutOrStdout()), NoPrefix: o.NoLogPrefix})
			return compose.StreamLogs(c.Context(), env.b.Containers, enginebackend.Logs(env.e), env.name, mux,
				compose.StreamOptions{Services: services, Read: read, Busy: compose.ProjectBusy(g.Layout().Projects(), env.name)})
		}}
	f := c.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "follow log output")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVarP(&o.Tail, "tail", "n", "all", "number of lines to show from the end of the logs for each container")
	f.StringVar(&o.Since, "since", "", "show logs since timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	f.StringVar(&o.Until, "until", "", "show logs before a timestamp or relative")
	f.BoolVar(&o.NoColor, "no-color", false, "produce monochrome output")
	f.BoolVar(&o.NoLogPrefix, "no-log-prefix", false, "don't print a prefix in logs")
	f.IntVar(&o.Index, "index", 0, "index of the container if the service has multiple replicas")
	return c
}

func composeIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}

// read converts the flags to the log reader's options.
func (o composeLogsOptions) read() (compose.LogReadOptions, error) {
	r := compose.LogReadOptions{Follow: o.Follow, Timestamps: o.Timestamps, Tail: -1}
	if o.Tail != "" && o.Tail != "all" {
		n, err := strconv.Atoi(o.Tail)
		if err != nil || n < 0 {
			return r, fmt.Errorf("--tail %q: use a number or all: %w", o.Tail, errdefs.ErrInvalidArgument)
		}
		r.Tail = n
	}
	var err error
	if r.Since, err = logTime("--since", o.Since); err != nil {
		return r, err
	}
	r.Until, err = logTime("--until", o.Until)
	return r, err
}

// logTime parses an RFC 3339 time, a unix timestamp or a duration ago.
func logTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: use a timestamp (2013-01-02T13:23:37Z) or a duration (42m): %w", flag, s, errdefs.ErrInvalidArgument)
}

// attachUp streams the project's logs after an attached `up`. Ctrl-C stops
// the project gracefully; a second Ctrl-C kills its containers. With
// --abort-on-container-exit the first container to stop (of
// --exit-code-from's service when given) stops the project and gives the
// exit code.
func attachUp(ctx context.Context, g *globals, c *cobra.Command, p *compose.Project, b compose.Backend, services []string, o composeUpOptions) error {
	e, err := newEngine(g)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env := &projectEnv{p: p, name: p.Name, e: e, b: b}
	exited, stopped := make(chan int, 1), make(chan error, 1)
	if o.AbortOnExit {
		// the logs keep streaming while the project stops, so nothing is cut
		go func() {
			ct, code, err := compose.WaitExit(sctx, b.Containers, p.Name, services, o.ExitCodeFrom, 0)
			if err != nil {
				return
			}
			fmt.Fprintf(c.ErrOrStderr(), "Aborting on container exit (%s exited with code %d)...\n", ct.Name, code)
			exited <- code
			stopped <- stopAttached(ctx, g, c, env)
		}()
	}
	mux := compose.NewLogMux(c.OutOrStdout(), compose.LogOptions{NoColor: o.NoColor || !composeIsTerminal(c.OutOrStdout()), NoPrefix: o.NoLogPrefix})
	err = compose.StreamLogs(sctx, b.Containers, enginebackend.Logs(e), p.Name, mux,
		compose.StreamOptions{Services: services, Read: compose.LogReadOptions{Follow: true, Timestamps: o.Timestamps, Tail: -1}})
	if o.AbortOnExit && ctx.Err() == nil {
		select {
		case code := <-exited:
			if err := <-stopped; err != nil {
				return err
			}
			if code != 0 {
				return withStatus(code, "")
			}
			return nil
		case <-time.After(time.Second): // everything stopped on its own
		}
	}
	if ctx.Err() == nil {
		return err
	}
	cancel()
	fmt.Fprintln(c.ErrOrStderr(), "Gracefully stopping... (press Ctrl+C again to force)")
	if err := stopAttached(ctx, g, c, env); err != nil {
		return err
	}
	return withStatus(130, "") // interrupted, the project stopped: nothing more to say
}

// stopAttached stops the project with a context that survives the first
// Ctrl-C; a second one kills the containers.
func stopAttached(ctx context.Context, g *globals, c *cobra.Command, env *projectEnv) error {
	kctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := runPlanned(kctx, g, c, env, "Stopping", compose.ExecOptions{}, func(obs compose.Observed) (compose.Plan, error) {
		return compose.PlanStop(env.p, obs, nil)
	})
	if kctx.Err() != nil {
		bg := context.WithoutCancel(ctx)
		list, _ := projectContainers(bg, env, nil, false)
		for _, ct := range list {
			_ = env.e.Kill(bg, ct.ID, "SIGKILL")
		}
		return nil
	}
	return err
}
