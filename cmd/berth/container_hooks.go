package main

import (
	"context"
	"io"

	"github.com/berth/berth/runtime"
)

// monitorHooks are the engine's hooks for runtime.RunMonitor: published
// ports are bound before each start and proxied while the container runs.
// monitor.go passes them to runtime.RunMonitor.
func monitorHooks(g *globals) runtime.MonitorHooks {
	return runtime.MonitorHooks{BeforeStart: func(ctx context.Context, c *runtime.Container) (io.Closer, error) {
		e, err := newEngine(g)
		if err != nil {
			return nil, err
		}
		return e.MonitorHooks().BeforeStart(ctx, c)
	}}
}
