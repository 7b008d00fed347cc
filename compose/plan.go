package compose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// Observed is the state of a project's objects as found on the host.
type Observed struct {
	Containers []ObservedContainer
	Networks   []string          // real names of the project's networks that exist
	Volumes    []string          // real names of the project's volumes that exist
	Images     map[string]string // image reference -> image id, for the images present
}

// ObservedContainer is one existing container of the project, read from its
// labels and state.
type ObservedContainer struct {
	ID         string
	Name       string
	Service    string
	Number     int
	OneOff     bool
	ConfigHash string
	ImageID    string
	State      string // created, running, restarting, paused, exited, dead
}

// PlanOptions are up's flags that shape the plan.
type PlanOptions struct {
	Services      []string // only these (and their dependencies unless NoDeps); empty: all
	ForceRecreate bool
	NoRecreate    bool
	NoDeps        bool
	RemoveOrphans bool
	NoStart       bool
	Scale         map[string]int
}

// Actions of a Step.
const (
	ActCreateNetwork = "create network"
	ActCreateVolume  = "create volume"
	ActCreate        = "create container"
	ActRecreate      = "recreate container"
	ActStart         = "start container"
	ActRestart       = "restart container"
	ActKeep          = "keep container"
	ActStop          = "stop container"
	ActRemove        = "remove container"
	ActRemoveOrphan  = "remove orphan"
	ActRemoveNetwork = "remove network"
	ActRemoveVolume  = "remove volume"
)

// Step is one thing the executor does.
type Step struct {
	Action  string
	Name    string // container, network or volume name
	Key     string // network or volume key in the file
	Service string
	Number  int
	ID      string // the existing container, for recreate/start/stop/remove
	Reason  string
	Wait    []Wait // start: conditions on dependencies, met before starting
}

// Wait is one condition a container start waits for.
type Wait struct {
	Service    string
	Condition  string
	Required   bool
	Containers []string // the dependency's containers, by name
}

// Plan is an ordered list of steps; Services gives the order of the
// service groups (dependencies first for up, dependents first for down).
type Plan struct {
	Project  *Project
	Down     bool
	Steps    []Step
	Services []string
	Graph    *Graph
	Warnings []string
	// Existing maps the names of the observed containers to their ids, so
	// that waits can watch containers the plan does not touch.
	Existing map[string]string
}

// String prints one step per line.
func (p Plan) String() string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String prints the step as a line of the plan.
func (s Step) String() string {
	line := s.Action + " " + s.Name
	if len(s.Wait) > 0 {
		var conds []string
		for _, w := range s.Wait {
			word := map[string]string{ConditionStarted: "started", ConditionHealthy: "healthy", ConditionCompleted: "completed successfully"}[w.Condition]
			for _, c := range w.Containers {
				conds = append(conds, c+" "+word)
			}
		}
		if len(conds) > 0 {
			line += " after " + strings.Join(conds, ", ")
		}
	}
	if s.Reason != "" {
		line += " (" + s.Reason + ")"
	}
	return line
}

// PlanUp computes the steps that bring observed to desired. It is a pure
// function. Services are visited in dependency order; each service's
// containers are created, recreated (config or image changed, or forced),
// started, kept or scaled down.
func PlanUp(desired *Project, observed Observed, o PlanOptions) (Plan, error) {
	g := NewGraph(desired)
	order, err := g.Order()
	if err != nil {
		return Plan{}, err
	}
	selected, err := selectServices(desired, g, o)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Project: desired, Graph: g, Existing: map[string]string{}}
	for _, c := range observed.Containers {
		plan.Existing[c.Name] = c.ID
	}
	plan.Steps = append(plan.Steps, planObjects(desired, observed, selected)...)
	plan.orphans(desired, observed, o.RemoveOrphans)
	byService := map[string][]ObservedContainer{}
	for _, c := range observed.Containers {
		if !c.OneOff {
			byService[c.Service] = append(byService[c.Service], c)
		}
	}
	changed := map[string]bool{} // services whose containers are (re)created
	for _, name := range order {
		if !selected[name] {
			continue
		}
		s, _ := desired.Service(name)
		steps, err := planService(desired, s, byService[name], observed, o, g, selected, changed)
		if err != nil {
			return Plan{}, err
		}
		plan.Services = append(plan.Services, name)
		plan.Steps = append(plan.Steps, steps...)
	}
	return plan, nil
}

func selectServices(p *Project, g *Graph, o PlanOptions) (map[string]bool, error) {
	for _, name := range o.Services {
		if _, ok := p.Service(name); !ok {
			return nil, errdefs.Errorf(errdefs.ErrNotFound, "service %q: no such service in project %q", name, p.Name)
		}
	}
	if len(o.Services) == 0 {
		return g.Closure(g.Services), nil
	}
	if o.NoDeps {
		sel := map[string]bool{}
		for _, n := range o.Services {
			sel[n] = true
		}
		return sel, nil
	}
	return g.Closure(o.Services), nil
}

// planObjects creates the networks and volumes the selected services use
// and that do not exist yet (external ones must exist: the executor checks).
func planObjects(p *Project, obs Observed, selected map[string]bool) []Step {
	netUsed, volUsed := map[string]bool{}, map[string]bool{}
	for _, s := range p.Services {
		if !selected[s.Name] {
			continue
		}
		if s.NetworkMode == "" {
			for _, n := range s.Networks {
				netUsed[n.Key] = true
			}
		}
		for _, m := range s.Mounts {
			if m.Type == MountVolume && m.Source != "" {
				volUsed[m.Source] = true
			}
		}
	}
	var steps []Step
	for _, key := range sortedKeys(p.Networks) {
		n := p.Networks[key]
		if netUsed[key] && !n.External && !contains(obs.Networks, n.Name) {
			steps = append(steps, Step{Action: ActCreateNetwork, Name: n.Name, Key: key})
		}
	}
	for _, key := range sortedKeys(p.Volumes) {
		v := p.Volumes[key]
		if volUsed[key] && !v.External && !contains(obs.Volumes, v.Name) {
			steps = append(steps, Step{Action: ActCreateVolume, Name: v.Name, Key: key})
		}
	}
	return steps
}

// orphans are containers of services no longer in the project (services
// disabled by a profile are not orphans).
func (plan *Plan) orphans(p *Project, obs Observed, remove bool) {
	known := map[string]bool{}
	for _, s := range p.Services {
		known[s.Name] = true
	}
	for _, d := range p.DisabledServices {
		known[d] = true
	}
	var names []string
	for _, c := range sortedContainers(obs.Containers) {
		if known[c.Service] || c.OneOff {
			continue
		}
		if remove {
			plan.Steps = append(plan.Steps, Step{Action: ActRemoveOrphan, Name: c.Name, Service: c.Service, Number: c.Number, ID: c.ID})
		} else {
			names = append(names, c.Name)
		}
	}
	if len(names) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("found orphan containers (%s) for project %q: remove them with --remove-orphans",
			strings.Join(names, ", "), p.Name))
	}
}

func sortedContainers(cs []ObservedContainer) []ObservedContainer {
	out := append([]ObservedContainer(nil), cs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		if out[i].Number != out[j].Number {
			return out[i].Number < out[j].Number
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
