package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/runtime"
)

// runOptions are `container run`'s flags.
type runOptions struct {
	engine.RunFlags
	Detach     bool
	DetachKeys string
}

// bindRunFlags binds docker run's container flags to f.
func bindRunFlags(fs *pflag.FlagSet, f *engine.RunFlags) {
	fs.SetInterspersed(false)
	fs.Bool("help", false, "print usage") // no -h: that is --hostname, as in Docker
	fs.StringVar(&f.Name, "name", "", "assign a name to the container")
	fs.StringVar(&f.Entrypoint, "entrypoint", "", "overwrite the image's ENTRYPOINT")
	stringArrayVarP(fs, &f.Env, "env", "e", "set environment variables")
	stringArrayVarP(fs, &f.EnvFiles, "env-file", "", "read environment variables from a file")
	fs.StringVarP(&f.Workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&f.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&f.Hostname, "hostname", "h", "", "container host name")
	fs.StringVar(&f.Domainname, "domainname", "", "container NIS domain name")
	stringArrayVarP(fs, &f.Labels, "label", "l", "set metadata on the container")
	stringArrayVarP(fs, &f.LabelFiles, "label-file", "", "read labels from a file")
	stringArrayVarP(fs, &f.Volumes, "volume", "v", "bind mount a volume")
	stringArrayVarP(fs, &f.Mounts, "mount", "", "attach a filesystem mount to the container")
	stringArrayVarP(fs, &f.Tmpfs, "tmpfs", "", "mount a tmpfs directory")
	stringArrayVarP(fs, &f.Publish, "publish", "p", "publish a container's port(s) to the host")
	fs.BoolVarP(&f.PublishAll, "publish-all", "P", false, "publish all exposed ports to random ports")
	stringArrayVarP(fs, &f.Expose, "expose", "", "expose a port or a range of ports")
	stringArrayVarP(fs, &f.Networks, "network", "", "connect a container to a network")
	fs.StringVar(&f.PID, "pid", "", "PID namespace to use: host or container:NAME")
	fs.StringVar(&f.IPC, "ipc", "", "IPC namespace to use: host or container:NAME")
	stringArrayVarP(fs, &f.Aliases, "network-alias", "", "add network-scoped alias for the container")
	fs.StringVar(&f.IP, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&f.MAC, "mac-address", "", "container MAC address")
	stringArrayVarP(fs, &f.DNS, "dns", "", "set custom DNS servers")
	stringArrayVarP(fs, &f.DNSSearch, "dns-search", "", "set custom DNS search domains")
	stringArrayVarP(fs, &f.DNSOptions, "dns-option", "", "set DNS options")
	stringArrayVarP(fs, &f.AddHosts, "add-host", "", "add a custom host-to-IP mapping (host:ip)")
	fs.StringVarP(&f.Memory, "memory", "m", "", "memory limit")
	fs.StringVar(&f.CPUs, "cpus", "", "number of CPUs")
	fs.Int64VarP(&f.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.Int64Var(&f.PidsLimit, "pids-limit", 0, "tune container pids limit (-1 for unlimited)")
	fs.BoolVar(&f.ReadOnly, "read-only", false, "mount the container's root filesystem as read only")
	fs.BoolVar(&f.Privileged, "privileged", false, "give extended privileges to this container")
	stringArrayVarP(fs, &f.CapAdd, "cap-add", "", "add Linux capabilities")
	stringArrayVarP(fs, &f.CapDrop, "cap-drop", "", "drop Linux capabilities")
	stringArrayVarP(fs, &f.SecurityOpt, "security-opt", "", "security options")
	stringArrayVarP(fs, &f.Ulimits, "ulimit", "", "ulimit options")
	stringArrayVarP(fs, &f.Sysctls, "sysctl", "", "sysctl options")
	fs.BoolVar(&f.Init, "init", false, "run an init inside the container that forwards signals and reaps processes")
	fs.StringVar(&f.Restart, "restart", "no", "restart policy to apply when a container exits")
	fs.StringVar(&f.HealthCmd, "health-cmd", "", "command to run to check health")
	fs.DurationVar(&f.HealthInterval, "health-interval", 0, "time between running the check (ms|s|m|h)")
	fs.DurationVar(&f.HealthTimeout, "health-timeout", 0, "maximum time to allow one check to run (ms|s|m|h)")
	fs.IntVar(&f.HealthRetries, "health-retries", 0, "consecutive failures needed to report unhealthy")
	fs.DurationVar(&f.HealthStartPeriod, "health-start-period", 0, "start period for the container to initialize (ms|s|m|h)")
	fs.DurationVar(&f.HealthStartInterval, "health-start-interval", 0, "time between checks during the start period (ms|s|m|h)")
	fs.BoolVar(&f.NoHealthcheck, "no-healthcheck", false, "disable any container-specified HEALTHCHECK")
	fs.StringVar(&f.StopSignal, "stop-signal", "", "signal to stop the container")
	fs.IntVar(&f.StopTimeout, "stop-timeout", 0, "timeout (in seconds) to stop a container")
	fs.BoolVarP(&f.Interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fs.BoolVarP(&f.Tty, "tty", "t", false, "allocate a pseudo-TTY")
	fs.BoolVar(&f.Rm, "rm", false, "automatically remove the container when it exits")
}

// markSet records flags whose presence matters beyond their value.
func markSet(fs *pflag.FlagSet, f *engine.RunFlags) {
	f.EntrySet = fs.Changed("entrypoint")
	f.StopTimeSet = fs.Changed("stop-timeout")
}

func newContainerCreateCmd(g *globals) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			markSet(cmd.Flags(), &o.RunFlags)
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			cfg, err := o.Config(args[0], args[1:], nil)
			if err != nil {
				return err
			}
			ctr, err := e.Create(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ctr.ID)
			return nil
		},
	}
	bindRunFlags(c.Flags(), &o.RunFlags)
	return c
}

func newContainerRunCmd(g *globals) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			markSet(cmd.Flags(), &o.RunFlags)
			return runContainer(cmd, g, &o, args)
		},
	}
	bindRunFlags(c.Flags(), &o.RunFlags)
	c.Flags().BoolVarP(&o.Detach, "detach", "d", false, "run container in background and print container ID")
	c.Flags().StringVar(&o.DetachKeys, "detach-keys", "", "override the key sequence for detaching a container")
	return c
}

func runContainer(cmd *cobra.Command, g *globals, o *runOptions, args []string) error {
	ctx := cmd.Context()
	e, err := newEngine(g)
	if err != nil {
		return err
	}
	cfg, err := o.Config(args[0], args[1:], nil)
	if err != nil {
		return err
	}
	// With --rm the monitor's exit hook removes a detached container; an
	// attached one is removed by this process once it has the exit code
	// (its monitor skips the hook, see engine.StartOptions.RemoveAfter),
	// unless it detached or died first: then the hook removes it, as
	// Docker's daemon does.
	cfg.AutoRemove = o.Rm
	ctr, err := e.Create(ctx, cfg)
	if err != nil {
		return err
	}
	removeAfter := func() {
		if o.Rm {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := e.Remove(rctx, ctr.ID, engine.RemoveOptions{Force: true, Volumes: true}); err != nil && !errdefs.IsNotFound(err) {
				// Start left the networks to this removal (RemoveAfter):
				// at least release them.
				e.Exited(rctx, ctr.ID)
			}
		}
	}
	if o.Detach {
		if err := e.Start(ctx, ctr.ID, engine.StartOptions{}); err != nil {
			removeAfter()
			return startStatus(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), ctr.ID)
		return nil
	}
	code, err := attachRun(ctx, e, ctr.ID, o)
	if err != nil {
		if errors.Is(err, runtime.ErrDetached) {
			return nil
		}
		removeAfter()
		return startStatus(err)
	}
	removeAfter()
	if code != 0 {
		return withStatus(code, "")
	}
	return nil
}

// attachRun starts the container attached to this terminal and returns
// its exit code.
func attachRun(ctx context.Context, e *engine.Engine, id string, o *runOptions) (int, error) {
	ao := &runtime.AttachOptions{Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: o.DetachKeys}
	if o.Interactive {
		ao.Stdin = os.Stdin
	}
	if o.Tty {
		restore, resize, err := rawTerminal(ctx)
		if err != nil {
			return 0, err
		}
		defer restore()
		ao.Resize = resize
	}
	// The container gets the user's Ctrl-C through the terminal (with -t)
	// or a proxied signal; berth keeps waiting for its exit.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			e.Kill(context.WithoutCancel(ctx), id, strconv.Itoa(int(s.(syscall.Signal))))
		}
	}()
	bg := context.WithoutCancel(ctx)
	if err := e.Start(bg, id, engine.StartOptions{Attach: ao, RemoveAfter: o.Rm}); err != nil {
		return 0, err
	}
	code, err := e.Runtime.Wait(bg, id, "not-running")
	if err != nil {
		return 0, err
	}
	return code, nil
}

// rawTerminal puts stdin in raw mode when it is a terminal and reports
// window size changes.
func rawTerminal(ctx context.Context) (restore func(), resize chan runtime.WindowSize, err error) {
	fd, isTerm := term.GetFdInfo(os.Stdin)
	if !isTerm {
		return func() {}, nil, nil
	}
	st, err := term.SetRawTerminal(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("set terminal raw: %w", errdefs.ErrUnavailable)
	}
	resize = make(chan runtime.WindowSize, 1)
	send := func() {
		if ws, err := term.GetWinsize(fd); err == nil {
			select {
			case resize <- runtime.WindowSize{Width: ws.Width, Height: ws.Height}:
			default:
			}
		}
	}
	send()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				send()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); signal.Stop(winch); term.RestoreTerminal(fd, st) }, resize, nil
}

func newContainerStartCmd(g *globals) *cobra.Command {
	var attach, interactive bool
	var detachKeys string
	c := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := newEngine(g)
			if err != nil {
				return err
			}
			if attach || interactive {
				if len(args) > 1 {
					return withStatus(125, "you cannot start and attach multiple containers at once")
				}
				code, err := attachRun(cmd.Context(), e, args[0], &runOptions{RunFlags: engine.RunFlags{Interactive: interactive}, DetachKeys: detachKeys})
				if err != nil {
					return startStatus(err)
				}
				if code != 0 {
					return withStatus(code, "")
				}
				return nil
			}
			return forEach(cmd.Context(), cmd, args, true, func(ctx context.Context, ref string) error {
				return startStatus(e.Start(ctx, ref, engine.StartOptions{}))
			})
		},
	}
	c.Flags().BoolVarP(&attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals")
	c.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach container's STDIN")
	c.Flags().StringVar(&detachKeys, "detach-keys", "", "override the key sequence for detaching a container")
	return c
}
