// Command berth is a daemonless, compose-style multi-container orchestrator.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth/berth/internal/initproc"
)

func main() {
	// As /sbin/berth-init inside a container (--init), berth is a tiny init.
	if filepath.Base(os.Args[0]) == "berth-init" {
		os.Exit(initproc.Main(os.Args[1:]))
	}
	tuneGC(os.Args[1:])
	ctx, stop := signalContext()
	defer stop()
	root := newRootCmd()
	args := projectFlagsLong(root, os.Args[1:])
	prepare(root, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		code := exitCode(err)
		if sig, ok := context.Cause(ctx).(interrupted); ok && errors.Is(err, context.Canceled) {
			code, err = 128+int(sig.Signal), sig
		}
		if msg := errorMessage(err, globalDebug(root)); msg != "" {
			fmt.Fprintf(os.Stderr, "berth: %s\n", msg)
		}
		os.Exit(code)
	}
}

// ComposeBinary is the name of the full berth build (every command; the
// default build of this package) that the core build (tag berthcore, what
// `make` installs as berth) hands the commands it does not serve to. It
// sits next to berth, like berth-monitor.
const ComposeBinary = "berth-compose"

// servedByCore reports whether the core build of berth runs args itself:
// a command of its own tree other than the completion script, which must
// describe every command. The root (help), cobra's help and __complete
// commands (added at Execute, so not found here) and the project commands
// go to the full build.
func servedByCore(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return false
	}
	for ; c.Parent() != root; c = c.Parent() {
	}
	return c.Name() != "completion" && c.Name() != "help"
}

// tuneGC lets a short-lived command's heap grow to five times its live data
// before collecting: a CLI run allocates a few MB it never frees early (the
// compose model, every container's config), and collecting at the default
// 100 % cost `up` of 20 services ~40 ms of CPU. The long-lived hidden entry
// points (the DNS server, a monitor when berth serves as one) keep the
// default.
func tuneGC(args []string) {
	for _, a := range args {
		if strings.HasPrefix(a, "__") {
			return
		}
	}
	debug.SetGCPercent(500)
}

// interrupted is the cause of the root context's cancellation: the signal
// that asked berth to stop. An operation it cut short exits 128+signal, as
// a shell reports it (130 for Ctrl-C, 143 for SIGTERM).
type interrupted struct{ syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.Signal) }

func signalName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return s.String()
}

// signalContext is the root context: cancelled, with an interrupted cause,
// by the first SIGINT or SIGTERM. Commands that treat a second signal
// specially (attached up, run) register their own handlers.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if s, ok := <-sigs; ok {
			cancel(interrupted{s.(syscall.Signal)})
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel(nil) }
}

// projectFlagsLong rewrites -f and -p given before the command name into
// --file and --project-name: there they select the project, as with
// `docker compose -p NAME run -p 80:80 svc`, while after it the command's
// own -f and -p (--force, --follow, --publish...) apply.
func projectFlagsLong(root *cobra.Command, args []string) []string {
	out := append([]string(nil), args...)
	withValue := valueFlags(root)
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--" || !strings.HasPrefix(a, "-"):
			return out // the command name: everything after is the command's
		case a == "-f" || strings.HasPrefix(a, "-f="):
			out[i] = "--file" + strings.TrimPrefix(a, "-f")
			if a == "-f" {
				i++
			}
		case a == "-p" || strings.HasPrefix(a, "-p="):
			out[i] = "--project-name" + strings.TrimPrefix(a, "-p")
			if a == "-p" {
				i++
			}
		case withValue[a]:
			i++
		}
	}
	return out
}

// valueFlags are the long flags that may come before the command name and
// take a value: the root's and the project commands', read from the flag
// sets themselves so that a flag added there is known here too.
func valueFlags(root *cobra.Command) map[string]bool {
	out := map[string]bool{}
	add := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.NoOptDefVal == "" && f.Value.Type() != "bool" {
				out["--"+f.Name] = true
			}
		})
	}
	add(root.PersistentFlags())
	for _, c := range root.Commands() {
		if !c.Hidden && !notProjectCommands[c.Name()] {
			add(c.PersistentFlags())
		}
	}
	return out
}
