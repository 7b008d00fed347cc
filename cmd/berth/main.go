// Command berth is a daemonless, compose-style multi-container orchestrator.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Hidden re-exec entry points that must run before anything else
	// (libcontainer's "init" is handled in init.go's package init).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	if err != nil {
		code := exitCode(err)
		if msg := errorMessage(err, globalDebug(root)); msg != "" {
			fmt.Fprintf(os.Stderr, "berth: %s\n", msg)
		}
		os.Exit(code)
	}
}
