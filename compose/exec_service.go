package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth/berth/internal/errdefs"
)

// runServices runs each service's container steps in its own goroutine.
// A goroutine first creates its new containers (nothing waits for that),
// then waits for the groups it must follow (dependencies for up,
// dependents for down), then runs the rest. Backend operations are bounded
// by the executor's semaphore, waits are not, so waiting groups never hold
// back ready ones.
func (e *executor) runServices(ctx context.Context) error {
	groups := map[string][]Step{}
	for _, st := range e.plan.Steps {
		switch st.Action {
		case ActCreate, ActRecreate, ActStart, ActRestart, ActKeep, ActStop, ActRemove:
			groups[st.Service] = append(groups[st.Service], st)
		}
	}
	for _, svc := range e.plan.Services {
		e.done[svc] = make(chan struct{})
	}
	// early creates go one group at a time in plan order (dependencies
	// first): the engine serializes creates anyway, and roots come first
	var prevCreate chan struct{}
	createTurn := map[string][2]chan struct{}{}
	for _, svc := range e.plan.Services {
		mine := make(chan struct{})
		createTurn[svc] = [2]chan struct{}{prevCreate, mine}
		prevCreate = mine
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, svc := range e.plan.Services {
		g.Go(func() error {
			var once sync.Once
			finish := func(err error) {
				once.Do(func() {
					e.mu.Lock()
					e.failures[svc] = err
					e.mu.Unlock()
					close(e.done[svc])
				})
			}
			err := e.runGroup(gctx, svc, groups[svc], createTurn[svc], finish)
			finish(err)
			return err
		})
	}
	err := g.Wait()
	if err == nil || ctx.Err() != nil {
		return err
	}
	// report the root cause, not a waiter that failed because of it
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, svc := range e.plan.Services {
		f := e.failures[svc]
		var de *dependencyError
		if f != nil && !errors.As(f, &de) && !errors.Is(f, context.Canceled) {
			return f
		}
	}
	return err
}

// dependencyError is a service that did not run because a dependency failed.
type dependencyError struct{ service, dependency string }

func (e *dependencyError) Error() string {
	return fmt.Sprintf("service %q: dependency %q failed to start", e.service, e.dependency)
}

func (e *dependencyError) Unwrap() error { return errdefs.ErrFailedPrecondition }

// predecessors are the groups svc must wait for: its dependencies for up,
// its dependents for down.
func (e *executor) predecessors(svc string) []string {
	if e.plan.Graph == nil {
		return nil
	}
	var names []string
	if e.plan.Down {
		names = e.plan.Graph.Dependents(svc)
	} else {
		for _, d := range e.plan.Graph.ServiceDeps(svc) {
			names = append(names, d.Name)
		}
	}
	var out []string
	for _, n := range names {
		if _, ok := e.done[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// runGroup runs one service's steps. For down plans, finish is called once
// the group's containers are stopped: the services it depends on may stop
// while its containers are being removed.
func (e *executor) runGroup(ctx context.Context, svc string, steps []Step, turn [2]chan struct{}, finish func(error)) error {
	if turn[0] != nil {
		select {
		case <-turn[0]:
		case <-ctx.Done():
			close(turn[1])
			return ctx.Err()
		}
	}
	steps, err := e.createEarly(ctx, svc, steps)
	close(turn[1])
	if err != nil {
		return err
	}
	for _, p := range e.predecessors(svc) {
		select {
		case <-e.done[p]:
		case <-ctx.Done():
			return ctx.Err()
		}
		e.mu.Lock()
		failed := e.failures[p]
		e.mu.Unlock()
		if failed != nil && !e.plan.Down && e.required(svc, p) {
			return &dependencyError{service: svc, dependency: p}
		}
	}
	if e.plan.Down {
		var removes []Step
		for _, st := range steps {
			if st.Action != ActStop {
				removes = append(removes, st)
				continue
			}
			if err := e.runStep(ctx, st); err != nil {
				return err
			}
		}
		finish(nil)
		steps = removes
	}
	for _, st := range steps {
		if err := e.runStep(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// createEarly runs the group's ActCreate steps before any wait, unless the
// service joins another service's namespaces (that container must exist
// first), and returns the remaining steps.
func (e *executor) createEarly(ctx context.Context, svc string, steps []Step) ([]Step, error) {
	s, ok := e.plan.Project.Service(svc)
	if e.plan.Down || !ok || joinsService(s) {
		return steps, nil
	}
	var rest []Step
	for _, st := range steps {
		if st.Action != ActCreate {
			rest = append(rest, st)
			continue
		}
		if err := e.runStep(ctx, st); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

func joinsService(s *Service) bool {
	for _, mode := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if strings.HasPrefix(mode, "service:") {
			return true
		}
	}
	return false
}

// acquire takes a slot of the semaphore that bounds backend operations.
func (e *executor) acquire(ctx context.Context) (release func(), err error) {
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *executor) required(svc, dep string) bool {
	for _, d := range e.plan.Graph.ServiceDeps(svc) {
		if d.Name == dep {
			return d.Required
		}
	}
	return false
}

// runStep performs one step and reports its progress. Starts take their
// semaphore slot after their waits.
func (e *executor) runStep(ctx context.Context, st Step) error {
	if st.Action == ActStart || st.Action == ActRestart {
		return e.start(ctx, st)
	}
	release, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return e.doStep(ctx, st)
}

func (e *executor) doStep(ctx context.Context, st Step) error {
	pr := e.o.Progress
	switch st.Action {
	case ActCreateNetwork:
		return e.createNetwork(ctx, st)
	case ActCreateVolume:
		return e.createVolume(ctx, st)
	case ActRemoveNetwork:
		return e.removeObject(ctx, "Network", st.Name, e.b.Networks.Remove)
	case ActRemoveVolume:
		return e.removeObject(ctx, "Volume", st.Name, e.b.Volumes.Remove)
	case ActKeep:
		e.setID(st.Name, st.ID)
		pr.Event(containerEvent(st.Name, StatusRunning, true))
		return nil
	case ActCreate:
		return e.create(ctx, st, StatusCreating, StatusCreated)
	case ActRecreate:
		pr.Event(containerEvent(st.Name, StatusRecreating, false))
		if err := e.stopRemove(ctx, st.ID); err != nil {
			return e.fail(st.Name, err)
		}
		return e.create(ctx, st, StatusRecreating, StatusRecreated)
	case ActStop:
		pr.Event(containerEvent(st.Name, StatusStopping, false))
		if err := e.b.Containers.Stop(ctx, st.ID, e.o.StopTimeout); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return e.fail(st.Name, err)
		}
		pr.Event(containerEvent(st.Name, StatusStopped, true))
		return nil
	case ActRemove, ActRemoveOrphan:
		pr.Event(containerEvent(st.Name, StatusRemoving, false))
		if err := e.stopRemove(ctx, st.ID); err != nil {
			return e.fail(st.Name, err)
		}
		pr.Event(containerEvent(st.Name, StatusRemoved, true))
		return nil
	}
	return fmt.Errorf("step %q: unknown action: %w", st.String(), errdefs.ErrInvalidArgument)
}

func (e *executor) fail(name string, err error) error {
	e.o.Progress.Event(Event{Kind: "Container", Name: name, Status: StatusError, Text: err.Error(), Done: true})
	return fmt.Errorf("container %q: %w", name, err)
}

func (e *executor) setID(name, id string) {
	e.mu.Lock()
	e.ids[name] = id
	e.mu.Unlock()
}

func (e *executor) stopRemove(ctx context.Context, id string) error {
	if err := e.b.Containers.Stop(ctx, id, e.o.StopTimeout); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if err := e.b.Containers.Remove(ctx, id, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	return nil
}

func (e *executor) create(ctx context.Context, st Step, doing, did string) error {
	if st.Action == ActCreate {
		e.o.Progress.Event(containerEvent(st.Name, doing, false))
	}
	s, ok := e.plan.Project.Service(st.Service)
	if !ok {
		return e.fail(st.Name, fmt.Errorf("service %q: %w", st.Service, errdefs.ErrNotFound))
	}
	spec, err := BuildSpec(e.plan.Project, s, st.Number, e.images[st.Service])
	if err != nil {
		return e.fail(st.Name, err)
	}
	if err := e.materialize(&spec); err != nil {
		return e.fail(st.Name, err)
	}
	id, err := e.b.Containers.Create(ctx, spec)
	if err != nil {
		return e.fail(st.Name, err)
	}
	e.mu.Lock()
	e.created = append(e.created, id)
	e.ids[st.Name] = id
	e.mu.Unlock()
	e.o.Progress.Event(containerEvent(st.Name, did, false))
	return nil
}

func (e *executor) start(ctx context.Context, st Step) error {
	id := st.ID
	e.mu.Lock()
	if known, ok := e.ids[st.Name]; ok {
		id = known
	}
	e.mu.Unlock()
	for _, w := range st.Wait {
		if err := e.waitFor(ctx, st.Name, w); err != nil {
			return e.fail(st.Name, err)
		}
	}
	release, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	doing, did := StatusStarting, StatusStarted
	if st.Action == ActRestart {
		doing, did = StatusRestarting, StatusRestarted
		if err := e.b.Containers.Stop(ctx, id, e.o.StopTimeout); err != nil {
			return e.fail(st.Name, err)
		}
	}
	e.o.Progress.Event(containerEvent(st.Name, doing, false))
	if err := e.b.Containers.Start(ctx, id); err != nil {
		return e.fail(st.Name, err)
	}
	e.setID(st.Name, id)
	e.o.Progress.Event(containerEvent(st.Name, did, true))
	return nil
}

// waitFor blocks until every container of the dependency meets the
// condition, and fails at once when one cannot any more.
func (e *executor) waitFor(ctx context.Context, waiter string, w Wait) error {
	if w.Condition == ConditionStarted {
		return nil // its group finished: its containers started
	}
	if e.o.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.o.WaitTimeout)
		defer cancel()
	}
	for _, name := range w.Containers {
		e.mu.Lock()
		id, ok := e.ids[name]
		e.mu.Unlock()
		if !ok {
			if !w.Required {
				continue
			}
			return fmt.Errorf("dependency %q: container %q is not known: %w", w.Service, name, errdefs.ErrFailedPrecondition)
		}
		e.o.Progress.Event(containerEvent(name, StatusWaiting, false))
		if err := e.poll(ctx, w, name, id); err != nil {
			if !w.Required {
				continue
			}
			return err
		}
	}
	return nil
}

func (e *executor) poll(ctx context.Context, w Wait, name, id string) error {
	t := time.NewTicker(e.o.PollInterval)
	defer t.Stop()
	for {
		st, err := e.b.Containers.Inspect(ctx, id)
		if err != nil {
			return fmt.Errorf("dependency %q: %w", w.Service, err)
		}
		ok, err := conditionMet(w, st)
		if err != nil {
			e.o.Progress.Event(Event{Kind: "Container", Name: name, Status: StatusError, Text: err.Error(), Done: true})
			return err
		}
		if ok {
			status := StatusHealthy
			if w.Condition == ConditionCompleted {
				status = StatusExited
			}
			e.o.Progress.Event(containerEvent(name, status, true))
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("dependency %q: %s not met within the wait timeout: %w", w.Service, w.Condition, errdefs.ErrUnavailable)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// conditionMet reports whether st satisfies the wait, or an error when it
// never will.
func conditionMet(w Wait, st ContainerState) (bool, error) {
	exited := st.Status == "exited" || st.Status == "dead"
	switch w.Condition {
	case ConditionCompleted:
		if !exited {
			return false, nil
		}
		if st.ExitCode != 0 {
			return false, fmt.Errorf("service %q didn't complete successfully: exit %d: %w", w.Service, st.ExitCode, errdefs.ErrFailedPrecondition)
		}
		return true, nil
	case ConditionHealthy:
		switch {
		case st.Health == "healthy":
			return true, nil
		case st.Health == "unhealthy":
			return false, fmt.Errorf("dependency %q is unhealthy: %w", w.Service, errdefs.ErrFailedPrecondition)
		case exited:
			return false, fmt.Errorf("dependency %q exited (code %d) before it became healthy: %w", w.Service, st.ExitCode, errdefs.ErrFailedPrecondition)
		case st.Health == "":
			return false, fmt.Errorf("dependency %q has no healthcheck: add one or use condition service_started: %w", w.Service, errdefs.ErrFailedPrecondition)
		}
		return false, nil
	}
	return true, nil
}

func (e *executor) createNetwork(ctx context.Context, st Step) error {
	p := e.plan.Project
	n := p.Networks[st.Key]
	e.o.Progress.Event(Event{Kind: "Network", Name: st.Name, Status: StatusCreating})
	err := e.b.Networks.Create(ctx, NetworkSpec{Name: st.Name, Internal: n.Internal, Subnet: n.Subnet,
		Gateway: n.Gateway, Labels: NetworkLabels(p, st.Key), Options: n.Options})
	if err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
		e.o.Progress.Event(Event{Kind: "Network", Name: st.Name, Status: StatusError, Text: err.Error(), Done: true})
		return fmt.Errorf("network %q: %w", st.Name, err)
	}
	e.o.Progress.Event(Event{Kind: "Network", Name: st.Name, Status: StatusCreated, Done: true})
	return nil
}

func (e *executor) createVolume(ctx context.Context, st Step) error {
	p := e.plan.Project
	v := p.Volumes[st.Key]
	e.o.Progress.Event(Event{Kind: "Volume", Name: st.Name, Status: StatusCreating})
	err := e.b.Volumes.Create(ctx, VolumeSpec{Name: st.Name, Labels: VolumeLabels(p, st.Key), Options: v.Options})
	if err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
		e.o.Progress.Event(Event{Kind: "Volume", Name: st.Name, Status: StatusError, Text: err.Error(), Done: true})
		return fmt.Errorf("volume %q: %w", st.Name, err)
	}
	e.o.Progress.Event(Event{Kind: "Volume", Name: st.Name, Status: StatusCreated, Done: true})
	return nil
}

func (e *executor) removeObject(ctx context.Context, kind, name string, remove func(context.Context, string) error) error {
	e.o.Progress.Event(Event{Kind: kind, Name: name, Status: StatusRemoving})
	if err := remove(ctx, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		e.o.Progress.Event(Event{Kind: kind, Name: name, Status: StatusError, Text: err.Error(), Done: true})
		return fmt.Errorf("%s %q: %w", strings.ToLower(kind), name, err)
	}
	e.o.Progress.Event(Event{Kind: kind, Name: name, Status: StatusRemoved, Done: true})
	return nil
}
