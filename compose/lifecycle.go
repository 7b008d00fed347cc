package compose

import (
	"fmt"

	"github.com/berth/berth/internal/errdefs"
)

// PlanStop stops the running containers of services (all when empty),
// dependents first. p may be nil (no compose file): no ordering then.
func PlanStop(p *Project, obs Observed, services []string) (Plan, error) {
	return planDownSubset(p, obs, services, func(st Step) bool { return st.Action == ActStop })
}

// PlanRemove removes the stopped containers of services (all when empty);
// with stop, running ones are stopped first, else they are kept.
func PlanRemove(p *Project, obs Observed, services []string, stop bool) (Plan, error) {
	running := map[string]bool{}
	for _, c := range obs.Containers {
		running[c.ID] = isRunning(c.State)
	}
	return planDownSubset(p, obs, services, func(st Step) bool {
		switch st.Action {
		case ActStop:
			return stop
		case ActRemove:
			return stop || !running[st.ID]
		}
		return false
	})
}

func planDownSubset(p *Project, obs Observed, services []string, keep func(Step) bool) (Plan, error) {
	if err := checkServices(p, services); err != nil {
		return Plan{}, err
	}
	plan, err := PlanDown(p, obs, DownOptions{RemoveOrphans: true})
	if err != nil {
		return Plan{}, err
	}
	want := set(services)
	var steps []Step
	for _, st := range plan.Steps {
		if st.Service != "" && (len(want) == 0 || want[st.Service]) && keep(st) {
			steps = append(steps, st)
		}
	}
	plan.Steps, plan.Warnings = steps, nil
	return plan, nil
}

// PlanStart starts the existing stopped containers of services (all when
// empty) in dependency order, each after its dependencies' conditions
// (dependencies are watched, not started). It creates nothing.
func PlanStart(p *Project, obs Observed, services []string) (Plan, error) {
	plan, err := PlanUp(p, obs, PlanOptions{Services: services, NoRecreate: true})
	if err != nil {
		return Plan{}, err
	}
	want := set(services)
	var steps []Step
	for _, st := range plan.Steps {
		if st.Action == ActStart && st.ID != "" && (len(want) == 0 || want[st.Service]) {
			steps = append(steps, st)
		}
	}
	plan.Steps, plan.Warnings = steps, nil
	return plan, nil
}

func checkServices(p *Project, services []string) error {
	if p == nil {
		return nil
	}
	for _, s := range services {
		if _, ok := p.Service(s); !ok {
			return fmt.Errorf("service %q: no such service in project %q: %w", s, p.Name, errdefs.ErrNotFound)
		}
	}
	return nil
}

func set(list []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range list {
		m[s] = true
	}
	return m
}
