package compose

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// LockProject takes the project's lock (<dir>/<name>.lock), waiting while
// another berth process holds it. Commands that change a project (up, down,
// start, stop, rm...) hold it; read-only ones (ps, logs, config) never do.
func LockProject(ctx context.Context, dir, name string) (*lockfile.Handle, error) {
	l, err := lockfile.Lock(ctx, filepath.Join(dir, name+".lock"))
	if err != nil {
		return nil, fmt.Errorf("project %q: lock: %w", name, err)
	}
	return l, nil
}

// Observe reads the project's containers, networks and volumes, and the ids
// of the images its services use (absent images are left out).
func Observe(ctx context.Context, b Backend, name string, p *Project) (Observed, error) {
	var obs Observed
	var err error
	if obs.Containers, err = b.Containers.List(ctx, name); err != nil {
		return Observed{}, fmt.Errorf("project %q: list containers: %w", name, err)
	}
	if obs.Networks, err = b.Networks.List(ctx, name); err != nil {
		return Observed{}, fmt.Errorf("project %q: list networks: %w", name, err)
	}
	if obs.Volumes, err = b.Volumes.List(ctx, name); err != nil {
		return Observed{}, fmt.Errorf("project %q: list volumes: %w", name, err)
	}
	obs.Images = map[string]string{}
	if p == nil {
		return obs, nil
	}
	for _, s := range p.Services {
		if s.Image == "" {
			continue
		}
		id, err := b.Images.Exists(ctx, s.Image)
		switch {
		case errors.Is(err, errdefs.ErrNotFound):
		case err != nil:
			return Observed{}, fmt.Errorf("service %q: image %q: %w", s.Name, s.Image, err)
		default:
			obs.Images[s.Image] = id
		}
	}
	return obs, nil
}

// UpOptions are the options of Up.
type UpOptions struct {
	Plan PlanOptions
	Exec ExecOptions
	// LockDir holds the per-project lock files (layout.Projects()); "" takes no lock.
	LockDir string
	// DryRun plans without executing.
	DryRun bool
}

// Up brings the project to the state its files describe: it takes the
// project lock, observes, plans and executes. It returns the plan it ran.
func Up(ctx context.Context, b Backend, p *Project, o UpOptions) (Plan, error) {
	if o.LockDir != "" {
		l, err := LockProject(ctx, o.LockDir, p.Name)
		if err != nil {
			return Plan{}, err
		}
		defer l.Unlock()
	}
	obs, err := Observe(ctx, b, p.Name, p)
	if err != nil {
		return Plan{}, err
	}
	plan, err := PlanUp(p, obs, o.Plan)
	if err != nil || o.DryRun {
		return plan, err
	}
	return plan, Execute(ctx, b, plan, o.Exec)
}

// Down removes the project's containers and networks (and volumes with
// o.Volumes). p may be nil when only the project name is known.
func Down(ctx context.Context, b Backend, name string, p *Project, o DownOptions, eo ExecOptions, lockDir string) (Plan, error) {
	if lockDir != "" {
		l, err := LockProject(ctx, lockDir, name)
		if err != nil {
			return Plan{}, err
		}
		defer l.Unlock()
	}
	obs, err := Observe(ctx, b, name, nil)
	if err != nil {
		return Plan{}, err
	}
	plan, err := PlanDown(p, obs, o)
	if err != nil {
		return Plan{}, err
	}
	return plan, Execute(ctx, b, plan, eo)
}

// WaitReady blocks until every container of the project's services (all
// when services is empty) runs, and is healthy when it has a healthcheck
// (up --wait). A container that exits non-zero or turns unhealthy fails it
// at once; one that exited 0 (a one-shot job) counts as ready.
func WaitReady(ctx context.Context, b Backend, project string, services []string, poll time.Duration) error {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		ready, err := projectReady(ctx, b, project, want)
		if err != nil || ready {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("project %q: not ready: %w", project, ctx.Err())
		case <-t.C:
		}
	}
}

func projectReady(ctx context.Context, b Backend, project string, want map[string]bool) (bool, error) {
	cs, err := b.Containers.List(ctx, project)
	if err != nil {
		return false, fmt.Errorf("project %q: list containers: %w", project, err)
	}
	ready := true
	for _, c := range cs {
		if c.OneOff || (len(want) > 0 && !want[c.Service]) {
			continue
		}
		st, err := b.Containers.Inspect(ctx, c.ID)
		if err != nil {
			return false, fmt.Errorf("container %q: %w", c.Name, err)
		}
		switch {
		case st.Health == "unhealthy":
			return false, fmt.Errorf("container %q is unhealthy: %w", c.Name, errdefs.ErrFailedPrecondition)
		case (st.Status == "exited" || st.Status == "dead") && st.ExitCode != 0:
			return false, fmt.Errorf("container %q exited (code %d): %w", c.Name, st.ExitCode, errdefs.ErrFailedPrecondition)
		case st.Status == "exited":
		case st.Status != "running" || (st.Health != "" && st.Health != "healthy"):
			ready = false
		}
	}
	return ready, nil
}

// WaitExit blocks until a container of the project stops: one of service
// when service is set, else any of services (all when empty). It returns
// the container and its exit code (up --abort-on-container-exit,
// --exit-code-from). Containers already stopped when it starts are ignored.
func WaitExit(ctx context.Context, cs Containers, project string, services []string, service string, poll time.Duration) (ObservedContainer, int, error) {
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	want := set(services)
	if service != "" {
		want = set([]string{service})
	}
	ignored := map[string]bool{}
	for first := true; ; first = false {
		list, err := cs.List(ctx, project)
		if err != nil {
			return ObservedContainer{}, 0, fmt.Errorf("project %q: list containers: %w", project, err)
		}
		for _, c := range sortedContainers(list) {
			if c.OneOff || (len(want) > 0 && !want[c.Service]) || ignored[c.ID] {
				continue
			}
			if c.State != "exited" && c.State != "dead" {
				continue
			}
			if first {
				ignored[c.ID] = true
				continue
			}
			st, err := cs.Inspect(ctx, c.ID)
			if err != nil {
				return c, 0, fmt.Errorf("container %q: %w", c.Name, err)
			}
			return c, st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return ObservedContainer{}, 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}
