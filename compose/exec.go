package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/internal/errdefs"
)

// ExecOptions tune Execute. The zero value works.
type ExecOptions struct {
	// Parallel bounds concurrent backend operations (default 8); waits on
	// dependencies do not count.
	Parallel int
	// WaitTimeout bounds each wait on a dependency's condition (0: none).
	WaitTimeout time.Duration
	// PollInterval is how often a waited-on container is inspected (default 100ms).
	PollInterval time.Duration
	// StopTimeout overrides the containers' stop timeout (-t).
	StopTimeout *time.Duration
	// DataDir is where secret and config contents are written
	// (<DataDir>/<project>/secrets|configs/<name>); default os.TempDir().
	DataDir string
	// Progress receives an event per resource state change (nil: none).
	Progress Progress
	// BuildOutput gets the output of the builds of missing images of
	// services with build: (nil discards it).
	BuildOutput io.Writer
	// RollbackTimeout bounds the clean-up after a failure or cancel (default 30s).
	RollbackTimeout time.Duration
}

func (o *ExecOptions) defaults() {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.Progress == nil {
		o.Progress = discardProgress{}
	}
	if o.DataDir == "" {
		o.DataDir = os.TempDir()
	}
	if o.RollbackTimeout <= 0 {
		o.RollbackTimeout = 30 * time.Second
	}
}

// executor is one run of a Plan.
type executor struct {
	b    Backend
	plan Plan
	o    ExecOptions

	mu       sync.Mutex
	ids      map[string]string // container name -> id, for waits
	images   map[string]string // service -> image id
	created  []string          // container ids this run created
	done     map[string]chan struct{}
	failures map[string]error // service -> its failure
	sem      chan struct{}    // bounds concurrent backend operations
}

// Execute runs plan against b: networks and volumes first, then orphans,
// then each service's steps in dependency order with bounded parallelism,
// each start waiting only on its own dependencies' conditions. For up plans
// every image is checked first, so a missing one fails before anything is
// created. After a failure or cancel, containers this run created that do
// not run are removed; running ones stay, labelled.
func Execute(ctx context.Context, b Backend, plan Plan, o ExecOptions) (err error) {
	o.defaults()
	e := &executor{b: b, plan: plan, o: o, ids: map[string]string{}, images: map[string]string{},
		done: map[string]chan struct{}{}, failures: map[string]error{}, sem: make(chan struct{}, o.Parallel)}
	for name, id := range plan.Existing {
		e.ids[name] = id
	}
	if !plan.Down {
		if err := e.checkImages(ctx); err != nil {
			return err
		}
		if err := e.checkExternal(ctx); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil || ctx.Err() != nil {
			e.rollback(ctx)
		}
	}()
	if err := e.runParallel(ctx, e.objectSteps(false)); err != nil {
		return err
	}
	if err := e.runParallel(ctx, e.orphanSteps()); err != nil {
		return err
	}
	if err := e.runServices(ctx); err != nil {
		return err
	}
	if err := e.runParallel(ctx, e.objectSteps(true)); err != nil {
		return err
	}
	return ctx.Err()
}

// checkImages resolves the image of every service that gets a new
// container; a missing image fails naming the service.
func (e *executor) checkImages(ctx context.Context) error {
	for _, st := range e.plan.Steps {
		if st.Action != ActCreate && st.Action != ActRecreate {
			continue
		}
		if _, ok := e.images[st.Service]; ok {
			continue
		}
		s, ok := e.plan.Project.Service(st.Service)
		if !ok {
			continue
		}
		if s.Image == "" {
			return fmt.Errorf("service %q has neither image nor a build berth can run: set image: %w", s.Name, errdefs.ErrInvalidArgument)
		}
		id, err := e.b.Images.Exists(ctx, s.Image)
		if errors.Is(err, errdefs.ErrNotFound) && s.Build != nil && e.b.Builder != nil {
			// Docker Compose builds a missing image of a service with build:.
			id, err = buildService(ctx, e.b.Builder, e.plan.Project, s, BuildOptions{Output: e.o.BuildOutput})
			if err != nil {
				return err
			}
		}
		if errors.Is(err, errdefs.ErrNotFound) {
			return errdefs.Errorf(errdefs.ErrNotFound, "service %q: image %q not found: import, load, pull or build it first", s.Name, s.Image)
		}
		if err != nil {
			return fmt.Errorf("service %q: image %q: %w", s.Name, s.Image, err)
		}
		e.images[st.Service] = id
	}
	return nil
}

// checkExternal makes sure the external networks and volumes the selected
// services use exist.
func (e *executor) checkExternal(ctx context.Context) error {
	p := e.plan.Project
	for _, name := range e.plan.Services {
		s, _ := p.Service(name)
		for _, sn := range s.Networks {
			n := p.Networks[sn.Key]
			if !n.External || s.NetworkMode != "" {
				continue
			}
			if ok, err := e.b.Networks.Exists(ctx, n.Name); err != nil || !ok {
				return fmt.Errorf("network %q is declared as external but does not exist: create it first: %w", n.Name, orNotFound(err))
			}
		}
		for _, m := range s.Mounts {
			v, ok := p.Volumes[m.Source]
			if m.Type != MountVolume || !ok || !v.External {
				continue
			}
			if ok, err := e.b.Volumes.Exists(ctx, v.Name); err != nil || !ok {
				return fmt.Errorf("volume %q is declared as external but does not exist: create it first: %w", v.Name, orNotFound(err))
			}
		}
	}
	return nil
}

func orNotFound(err error) error {
	if err != nil {
		return err
	}
	return errdefs.ErrNotFound
}

// objectSteps returns the network/volume steps: creations (removals=false)
// or removals.
func (e *executor) objectSteps(removals bool) []Step {
	var out []Step
	for _, st := range e.plan.Steps {
		switch st.Action {
		case ActCreateNetwork, ActCreateVolume:
			if !removals {
				out = append(out, st)
			}
		case ActRemoveNetwork, ActRemoveVolume:
			if removals {
				out = append(out, st)
			}
		}
	}
	return out
}

func (e *executor) orphanSteps() []Step {
	var out []Step
	for _, st := range e.plan.Steps {
		if st.Action == ActRemoveOrphan {
			out = append(out, st)
		}
	}
	return out
}

// runParallel runs independent steps with bounded parallelism.
func (e *executor) runParallel(ctx context.Context, steps []Step) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, st := range steps {
		g.Go(func() error { return e.runStep(gctx, st) })
	}
	return g.Wait()
}

// rollback removes the containers this run created that are not running,
// with a context that outlives the cancelled one.
func (e *executor) rollback(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.o.RollbackTimeout)
	defer cancel()
	e.mu.Lock()
	created := append([]string(nil), e.created...)
	e.mu.Unlock()
	for _, id := range created {
		st, err := e.b.Containers.Inspect(rctx, id)
		if err != nil || isRunning(st.Status) {
			continue
		}
		_ = e.b.Containers.Remove(rctx, id, true)
	}
}

// materialize writes a secret or config given by content into the data
// folder and points the mount at that file.
func (e *executor) materialize(spec *ContainerSpec) error {
	for i := range spec.Files {
		f := &spec.Files[i]
		if f.Source != "" {
			continue
		}
		kind := "configs"
		if f.Secret {
			kind = "secrets"
		}
		dir := filepath.Join(e.o.DataDir, spec.Project, kind)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s %q: %w", kind, f.Name, err)
		}
		path := filepath.Join(dir, f.Name)
		tmp := path + ".tmp"
		_ = os.Remove(tmp)
		if err := os.WriteFile(tmp, f.Content, 0o400); err != nil {
			return fmt.Errorf("%s %q: %w", kind, f.Name, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("%s %q: %w", kind, f.Name, err)
		}
		f.Source = path
	}
	return nil
}
