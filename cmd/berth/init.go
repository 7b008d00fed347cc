package main

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // cgo: joins namespaces before the Go runtime starts

	_ "github.com/opencontainers/cgroups/devices" // device rules

	"github.com/berth/berth/runtime"
)

// libcontainer re-execs this binary as "<argv0> init" inside the new
// namespaces; that process must become the container's process and never
// reach cobra. This is the one package-level init with side effects, and it
// acts only for that argv.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.PrepareInit() // the seccomp memo
		libcontainer.Init()
		os.Exit(255) // Init only returns on failure, after reporting it to the parent
	}
}
