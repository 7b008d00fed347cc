package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/image"
	"github.com/berth/berth/runtime"
)

// Commit makes an image of the container's changes over its image. With
// pause a running container is frozen while its upper dir is read.
func (e *Engine) Commit(ctx context.Context, ref string, o image.CommitOptions, pause bool) (*image.Image, error) {
	c, err := e.Runtime.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if pause && c.State.Status == runtime.StatusRunning {
		if err := e.Runtime.Pause(ctx, c.ID); err != nil {
			return nil, err
		}
		defer e.Runtime.Unpause(context.WithoutCancel(ctx), c.ID)
	}
	d, err := dataOf(c)
	if err != nil {
		return nil, err
	}
	img, err := e.Images.Get(ctx, c.Spec.ImageID)
	if err != nil {
		return nil, fmt.Errorf("container %q: its image: %w", c.Name, err)
	}
	cfg := img.Config
	cfg.Env = c.Spec.Process.Env
	cfg.Cmd, cfg.Entrypoint = d.Cmd, d.Entrypoint
	cfg.WorkingDir, cfg.User, cfg.Labels = c.Spec.Process.Cwd, c.Spec.Process.User, c.Spec.Labels
	cfg.ExposedPorts = d.Exposed
	o.Config = &cfg
	if o.CreatedBy == "" {
		o.CreatedBy = strings.Join(c.Spec.Process.Args, " ")
	}
	return e.Images.Commit(ctx, e.Runtime.UpperDir(c.ID), c.Spec.ImageID, o)
}

// StatsRow is one container's usage as `container stats` shows it.
type StatsRow struct {
	ID, Name           string
	CPUPerc, MemPerc   string
	MemUsage, MemLimit uint64
	PIDs               uint64
}

// Container is the ID, for templates ({{.Container}}).
func (r StatsRow) Container() string { return r.ID }

// StatsSample measures each container twice, interval apart, for CPU %.
func (e *Engine) StatsSample(ctx context.Context, refs []string, interval time.Duration) ([]StatsRow, error) {
	type sample struct {
		cpu  uint64
		read time.Time
	}
	first := map[string]sample{}
	for _, r := range refs {
		if s, err := e.Runtime.Stats(ctx, r); err == nil {
			first[r] = sample{s.CPUNanos, s.Read}
		}
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(interval):
	}
	var out []StatsRow
	for _, r := range refs {
		c, err := e.Runtime.Get(ctx, r)
		if err != nil {
			return nil, err
		}
		row := StatsRow{ID: c.ID[:12], Name: c.Name, CPUPerc: "0.00%", MemPerc: "0.00%"}
		if s, err := e.Runtime.Stats(ctx, c.ID); err == nil {
			if f, ok := first[r]; ok && s.Read.After(f.read) && s.CPUNanos >= f.cpu {
				row.CPUPerc = fmt.Sprintf("%.2f%%", float64(s.CPUNanos-f.cpu)/float64(s.Read.Sub(f.read).Nanoseconds())*100)
			}
			row.MemUsage, row.MemLimit, row.PIDs = s.MemoryUsage, s.MemoryLimit, s.Pids
			if s.MemoryLimit > 0 {
				row.MemPerc = fmt.Sprintf("%.2f%%", float64(s.MemoryUsage)/float64(s.MemoryLimit)*100)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// Prune removes every stopped container matching the ps filters
// (label=, until= is not supported) and returns their ids and the space
// their writable layers held, as docker container prune reports it.
func (e *Engine) Prune(ctx context.Context, filters []string) ([]string, int64, error) {
	list, err := e.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	list, err = FilterPs(list, PsOptions{All: true, Filters: filters})
	if err != nil {
		return nil, 0, err
	}
	var removed []string
	var reclaimed int64
	for _, d := range list {
		if d.State.Running || d.State.Restarting || d.State.Paused {
			continue
		}
		size := dirSize(ctx, e.Runtime.UpperDir(d.ID))
		if err := e.Remove(ctx, d.ID, RemoveOptions{}); err != nil {
			return removed, reclaimed, err
		}
		removed = append(removed, d.ID)
		reclaimed += size
	}
	return removed, reclaimed, nil
}
