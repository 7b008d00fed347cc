package compose

import (
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
			return errdefs.Errorf(errdefs.ErrNotFound, "service %q: no such service in project %q", s, p.Name)
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

// PlanRun prepares a one-off `run` of service: its networks and volumes,
// and (unless noDeps) its dependencies started as `up` would, without
// touching the service's own containers.
func PlanRun(p *Project, obs Observed, service string, noDeps bool) (Plan, error) {
	if err := checkServices(p, []string{service}); err != nil {
		return Plan{}, err
	}
	plan, err := PlanUp(p, obs, PlanOptions{Services: []string{service}, NoDeps: noDeps, NoRecreate: true})
	if err != nil {
		return Plan{}, err
	}
	var steps []Step
	for _, st := range plan.Steps {
		if st.Service != service {
			steps = append(steps, st)
		}
	}
	var services []string
	for _, s := range plan.Services {
		if s != service {
			services = append(services, s)
		}
	}
	plan.Steps, plan.Services, plan.Warnings = steps, services, nil
	return plan, nil
}

// RunOptions are the overrides of a one-off `run` container.
type RunOptions struct {
	Name         string   // "" => <project>-<service>-run-<suffix>
	Suffix       string   // random suffix of the generated name
	Command      []string // nil: the service's
	Entrypoint   []string // nil: the service's
	Env          []string // KEY=VALUE, added to the service's
	WorkingDir   string
	User         string
	Labels       map[string]string
	ServicePorts bool // publish the service's ports (off by default, as Docker Compose)
	UseAliases   bool // keep the service's network aliases
	Tty          bool
	StdinOpen    bool
}

// OneOffSpec returns the spec of a one-off container of service s.
func OneOffSpec(p *Project, s *Service, imageID string, o RunOptions) (ContainerSpec, error) {
	spec, err := BuildSpec(p, s, 1, imageID)
	if err != nil {
		return ContainerSpec{}, err
	}
	spec.Name = o.Name
	if spec.Name == "" {
		spec.Name = OneOffName(p.Name, s.Name, o.Suffix)
	}
	spec.OneOff, spec.Number = true, 0
	spec.Labels[LabelOneOff] = "True"
	spec.Labels[LabelNumber] = "0"
	for k, v := range o.Labels {
		spec.Labels[k] = v
	}
	if o.Command != nil {
		spec.Command = o.Command
	}
	if o.Entrypoint != nil {
		spec.Entrypoint = o.Entrypoint
	}
	spec.Env = append(append([]string(nil), spec.Env...), o.Env...)
	if o.WorkingDir != "" {
		spec.WorkingDir = o.WorkingDir
	}
	if o.User != "" {
		spec.User = o.User
	}
	if !o.ServicePorts {
		spec.Ports = nil
	}
	if !o.UseAliases {
		for i := range spec.Networks {
			spec.Networks[i].Aliases = nil
		}
	}
	spec.Restart = "no"
	spec.Tty, spec.StdinOpen = o.Tty, o.StdinOpen
	if s.ContainerName != "" && o.Name == "" {
		spec.Name = OneOffName(p.Name, s.Name, o.Suffix)
	}
	return spec, nil
}
