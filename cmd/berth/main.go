// Command berth is a daemonless, compose-style multi-container orchestrator.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/berth/berth/internal/initproc"
)

func main() {
	// As /sbin/berth-init inside a container (--init), berth is a tiny init.
	if filepath.Base(os.Args[0]) == "berth-init" {
		os.Exit(initproc.Main(os.Args[1:]))
	}
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
