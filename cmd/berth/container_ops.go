package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/format"
	"github.com/berth/berth/runtime"
)

// engineCmd builds a command that needs the engine.
func engineCmd(g *globals, use, short string, args cobra.PositionalArgs, run func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, a []string) error {
		e, err := newEngine(g)
		if err != nil {
			return err
		}
		return run(cmd.Context(), cmd, e, a)
	}}
}

func newContainerStopCmd(g *globals) *cobra.Command {
	var secs int
	c := engineCmd(g, "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			t := timeoutFlag(cmd, secs)
			return forEach(ctx, cmd, args, true, func(ctx context.Context, r string) error { return e.Stop(ctx, r, t) })
		})
	c.Flags().IntVarP(&secs, "time", "t", 0, "seconds to wait before killing the container")
	return c
}

// timeoutFlag is -t as a duration, nil when not given.
func timeoutFlag(cmd *cobra.Command, secs int) *time.Duration {
	if !cmd.Flags().Changed("time") {
		return nil
	}
	d := time.Duration(secs) * time.Second
	return &d
}

func newContainerRestartCmd(g *globals) *cobra.Command {
	var secs int
	c := engineCmd(g, "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			t := timeoutFlag(cmd, secs)
			return forEach(ctx, cmd, args, true, func(ctx context.Context, r string) error { return startStatus(e.Restart(ctx, r, t)) })
		})
	c.Flags().IntVarP(&secs, "time", "t", 0, "seconds to wait before killing the container")
	return c
}

func newContainerKillCmd(g *globals) *cobra.Command {
	var sig string
	c := engineCmd(g, "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return forEach(ctx, cmd, args, true, func(ctx context.Context, r string) error { return e.Kill(ctx, r, sig) })
		})
	c.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send to the container")
	return c
}

func newContainerRmCmd(g *globals) *cobra.Command {
	var o engine.RemoveOptions
	c := engineCmd(g, "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return forEach(ctx, cmd, args, true, func(ctx context.Context, r string) error { return e.Remove(ctx, r, o) })
		})
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	c.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	c.Aliases = []string{"remove"}
	return c
}

func newContainerPsCmd(g *globals) *cobra.Command {
	var o engine.PsOptions
	var latest bool
	c := engineCmd(g, "ps [OPTIONS]", "List containers", cobra.NoArgs,
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			if latest {
				o.Last = 1
			}
			if !cmd.Flags().Changed("size") {
				o.Size = engine.PsFormatUsesSize(o.Format)
			}
			list, err := e.List(ctx)
			if err != nil {
				return err
			}
			if o.Size && !o.Quiet { // only the rows shown: sizes walk each writable layer
				if list, err = engine.FilterPs(list, o); err != nil {
					return err
				}
				if err := e.Sizes(ctx, list); err != nil {
					return err
				}
			}
			return engine.Ps(cmd.OutOrStdout(), list, o, time.Now())
		})
	f := c.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "only display container IDs")
	f.IntVarP(&o.Last, "last", "n", 0, "show n last created containers (includes all states)")
	f.BoolVarP(&latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "don't truncate output")
	stringArrayVarP(f, &o.Filters, "filter", "", "filter output based on conditions provided")
	f.StringVar(&o.Format, "format", "", "format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
	f.BoolVarP(&o.Size, "size", "s", false, "display total file sizes")
	c.Aliases = []string{"ls", "list"}
	return c
}

func newContainerLogsCmd(g *globals) *cobra.Command {
	var o runtime.LogOptions
	var tail, since, until string
	c := engineCmd(g, "logs [OPTIONS] CONTAINER", "Fetch the logs of a container", cobra.ExactArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			var err error
			if o.Tail, err = parseTail(tail); err != nil {
				return err
			}
			now := time.Now()
			if o.Since, err = parseLogTime("--since", since, now); err != nil {
				return err
			}
			if o.Until, err = parseLogTime("--until", until, now); err != nil {
				return err
			}
			return e.Runtime.Logs(ctx, args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		})
	f := c.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "follow log output")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	f.StringVar(&since, "since", "", "show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
	f.StringVar(&until, "until", "", "show logs before a timestamp or relative (e.g. 42m)")
	f.Bool("details", false, "show extra details provided to logs")
	return c
}

func parseTail(s string) (int, error) {
	if s == "" || s == "all" {
		return -1, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 0 {
		return 0, withStatus(125, fmt.Sprintf("invalid --tail %q: use a number of lines or all", s))
	}
	return n, nil
}

// parseLogTime takes RFC 3339 times, dates, unix seconds or a duration
// back from now ("42m").
func parseLogTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	return time.Time{}, withStatus(125, fmt.Sprintf("invalid %s %q: use a timestamp (2006-01-02T15:04:05Z), unix seconds or a duration (42m)", flag, s))
}

func newContainerExecCmd(g *globals) *cobra.Command {
	var interactive, tty, detach bool
	var env, envFiles []string
	var workdir, user, detachKeys string
	c := engineCmd(g, "exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", cobra.MinimumNArgs(2),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			var fileEnv []string
			for _, p := range envFiles {
				kv, err := engine.ParseKeyValueFile(p, os.LookupEnv)
				if err != nil {
					return err
				}
				fileEnv = append(fileEnv, kv...)
			}
			spec := runtime.ExecSpec{Args: args[1:], Env: append(fileEnv, engine.ExpandEnv(env, os.LookupEnv)...),
				Cwd: workdir, User: user, Tty: tty, Detach: detach, Stdout: os.Stdout, Stderr: os.Stderr}
			if interactive {
				spec.Stdin = os.Stdin
			}
			if tty && !detach {
				restore, _, err := rawTerminal(ctx)
				if err != nil {
					return err
				}
				defer restore()
			}
			code, err := e.Runtime.Exec(ctx, args[0], spec)
			if err != nil {
				return startStatus(err)
			}
			if code != 0 {
				return withStatus(code, "")
			}
			return nil
		})
	f := c.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	f.BoolVarP(&tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVarP(&detach, "detach", "d", false, "detached mode: run command in the background")
	stringArrayVarP(f, &env, "env", "e", "set environment variables")
	stringArrayVarP(f, &envFiles, "env-file", "", "read in a file of environment variables")
	f.StringVarP(&workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container")
	return c
}

func newContainerInspectCmd(g *globals) *cobra.Command {
	var tmpl string
	var size bool
	c := engineCmd(g, "inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			var found []*engine.Details
			var missing []string
			for _, r := range args {
				d, err := e.Inspect(ctx, r)
				if err != nil {
					missing = append(missing, err.Error())
					continue
				}
				found = append(found, d)
			}
			if size {
				if err := e.Sizes(ctx, found); err != nil {
					return err
				}
			}
			if err := format.Inspect(cmd.OutOrStdout(), tmpl, format.Values(found)); err != nil {
				return err
			}
			if len(missing) > 0 {
				return withStatus(1, strings.Join(missing, "\n"))
			}
			return nil
		})
	c.Flags().StringVarP(&tmpl, "format", "f", "", "format output using a custom template or json")
	c.Flags().BoolVarP(&size, "size", "s", false, "display total file sizes (SizeRw, SizeRootFs)")
	return c
}

func newContainerTopCmd(g *globals) *cobra.Command {
	c := engineCmd(g, "top CONTAINER [ps OPTIONS]", "Display the running processes of a container", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			list, err := e.Runtime.Processes(ctx, args[0], args[1:])
			if err != nil {
				return err
			}
			return writeTop(cmd.OutOrStdout(), list)
		})
	c.Flags().SetInterspersed(false) // ps's options are ps's: top CONTAINER -o pid,args
	return c
}

func newContainerWaitCmd(g *globals) *cobra.Command {
	var cond string
	c := engineCmd(g, "wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return forEach(ctx, cmd, args, false, func(ctx context.Context, r string) error {
				code, err := e.Runtime.Wait(ctx, r, cond)
				if err == nil {
					fmt.Fprintln(cmd.OutOrStdout(), code)
				}
				return err
			})
		})
	c.Flags().StringVar(&cond, "condition", "not-running", "not-running, next-exit or removed")
	c.Flags().MarkHidden("condition")
	return c
}

func newContainerAttachCmd(g *globals) *cobra.Command {
	var noStdin bool
	var detachKeys string
	c := engineCmd(g, "attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", cobra.ExactArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			ctr, err := e.Runtime.Get(ctx, args[0])
			if err != nil {
				return err
			}
			ao := runtime.AttachOptions{Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: detachKeys}
			if !noStdin {
				ao.Stdin = os.Stdin
			}
			if ctr.Spec.Process.Terminal {
				restore, resize, err := rawTerminal(ctx)
				if err != nil {
					return err
				}
				defer restore()
				ao.Resize = resize
			}
			if err := e.Runtime.Attach(ctx, ctr.ID, ao); err != nil {
				if err == runtime.ErrDetached {
					return nil
				}
				return err
			}
			code, err := e.Runtime.Wait(context.WithoutCancel(ctx), ctr.ID, "not-running")
			if err != nil {
				return err
			}
			if code != 0 {
				return withStatus(code, "")
			}
			return nil
		})
	c.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach STDIN")
	c.Flags().StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container")
	c.Flags().Bool("sig-proxy", true, "proxy all received signals to the process")
	return c
}

func newContainerStatsCmd(g *globals) *cobra.Command {
	var noStream, all bool
	var tmpl string
	c := engineCmd(g, "stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", cobra.ArbitraryArgs,
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return runStats(ctx, cmd, e, args, all, noStream, tmpl)
		})
	c.Flags().BoolVar(&noStream, "no-stream", false, "disable streaming stats and only pull the first result")
	c.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	c.Flags().StringVar(&tmpl, "format", "", "format output using a custom template")
	c.Flags().Bool("no-trunc", false, "do not truncate output")
	return c
}

func newContainerRenameCmd(g *globals) *cobra.Command {
	return engineCmd(g, "rename CONTAINER NEW_NAME", "Rename a container", cobra.ExactArgs(2),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return e.Runtime.Rename(ctx, args[0], args[1])
		})
}

func newContainerPauseCmd(g *globals) *cobra.Command {
	return engineCmd(g, "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return forEach(ctx, cmd, args, true, e.Runtime.Pause)
		})
}

func newContainerUnpauseCmd(g *globals) *cobra.Command {
	return engineCmd(g, "unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", cobra.MinimumNArgs(1),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			return forEach(ctx, cmd, args, true, e.Runtime.Unpause)
		})
}

func newContainerPruneCmd(g *globals) *cobra.Command {
	var force bool
	var filters []string
	c := engineCmd(g, "prune [OPTIONS]", "Remove all stopped containers", cobra.NoArgs,
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			if !force && !confirm(cmd, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			removed, reclaimed, err := e.Prune(ctx, filters)
			fmt.Fprintln(cmd.OutOrStdout(), "Deleted Containers:")
			for _, id := range removed {
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout())
			printReclaimed(cmd.OutOrStdout(), reclaimed)
			return nil
		})
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVarP(c.Flags(), &filters, "filter", "", "provide filter values (e.g. 'label=<key>=<value>')")
	return c
}

// confirm asks on stderr and reads y/N from stdin.
func confirm(cmd *cobra.Command, msg string) bool {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s\nAre you sure you want to continue? [y/N] ", msg)
	var answer string
	fmt.Fscanln(cmd.InOrStdin(), &answer)
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

func newContainerPortCmd(g *globals) *cobra.Command {
	return engineCmd(g, "port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", cobra.RangeArgs(1, 2),
		func(ctx context.Context, cmd *cobra.Command, e *engine.Engine, args []string) error {
			only := ""
			if len(args) == 2 {
				only = args[1]
			}
			lines, err := e.PortLines(ctx, args[0], only)
			if err != nil {
				return err
			}
			if only != "" && len(lines) == 0 {
				return fmt.Errorf("no public port %q published for %s", only, args[0])
			}
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			return nil
		})
}
