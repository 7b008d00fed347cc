//go:build berthcore

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// This is the core build of berth: the container, image, volume, network
// and system commands, without the project commands and so without
// compose-go, whose JSON-schema library alone compiles its metaschemas for
// ~7 ms at every start (and berth's other project code). Every `berth
// container run` or `ps` starts that much sooner. Whatever it does not
// serve it hands, with the same argv, to berth-compose next to it: the full
// build. Docker's CLI does the same with its compose plugin.

func addComposeCommands(*cobra.Command, *globals) {}

// prepare execs berth-compose when this build does not serve args.
func prepare(root *cobra.Command, args []string) {
	if servedByCore(root, args) {
		return
	}
	exe, err := os.Executable()
	if err == nil {
		exe = filepath.Join(filepath.Dir(exe), ComposeBinary)
		err = syscall.Exec(exe, os.Args, os.Environ())
		err = fmt.Errorf("%s: %w", exe, err)
	}
	fmt.Fprintf(os.Stderr, "berth: the project commands, help and completion are served by %s, which must sit next to berth: %v; reinstall berth (make install puts both in place)\n", ComposeBinary, err)
	os.Exit(125)
}
