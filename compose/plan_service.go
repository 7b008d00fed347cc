package compose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// planService plans one service's containers. changed records the services
// whose containers this plan creates or recreates, for dependents with
// `restart: true` or network_mode service:X.
func planService(p *Project, s *Service, existing []ObservedContainer, obs Observed, o PlanOptions,
	g *Graph, selected, changed map[string]bool) ([]Step, error) {
	scale := serviceScale(s, o)
	if s.ContainerName != "" && scale > 1 {
		return nil, fmt.Errorf("service %q: container_name %q cannot be used with scale %d: remove container_name or scale to 1: %w",
			s.Name, s.ContainerName, scale, errdefs.ErrInvalidArgument)
	}
	imageID := obs.Images[s.Image]
	hash := ConfigHash(*s, imageID)
	waits := planWaits(p, s, g, selected, o)
	recreateDep, restartDep := changedDeps(s, g, changed)

	byNumber := map[int]ObservedContainer{}
	var extra []ObservedContainer
	for _, c := range sortedContainers(existing) {
		if _, dup := byNumber[c.Number]; dup || c.Number < 1 || c.Number > scale {
			extra = append(extra, c)
			continue
		}
		byNumber[c.Number] = c
	}
	var steps []Step
	start := func(name, id string) {
		if !o.NoStart {
			steps = append(steps, Step{Action: ActStart, Name: name, Service: s.Name, ID: id, Wait: waits})
		}
	}
	for n := 1; n <= scale; n++ {
		name := ContainerName(p.Name, s, n)
		c, ok := byNumber[n]
		if !ok {
			steps = append(steps, Step{Action: ActCreate, Name: name, Service: s.Name, Number: n})
			changed[s.Name] = true
			start(name, "")
			continue
		}
		reason := recreateReason(s, c, o, hash, imageID, recreateDep)
		switch {
		case reason != "":
			steps = append(steps, Step{Action: ActRecreate, Name: name, Service: s.Name, Number: n, ID: c.ID, Reason: reason})
			changed[s.Name] = true
			start(name, c.ID)
		case isRunning(c.State) && restartDep != "" && !o.NoStart:
			steps = append(steps, Step{Action: ActRestart, Name: name, Service: s.Name, Number: n, ID: c.ID,
				Reason: "dependency " + restartDep + " recreated", Wait: waits})
		case isRunning(c.State):
			steps = append(steps, Step{Action: ActKeep, Name: name, Service: s.Name, Number: n, ID: c.ID, Reason: "running"})
		default:
			if o.NoStart {
				steps = append(steps, Step{Action: ActKeep, Name: name, Service: s.Name, Number: n, ID: c.ID, Reason: c.State})
			} else {
				start(name, c.ID)
			}
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Number > extra[j].Number })
	for _, c := range extra {
		steps = append(steps, Step{Action: ActRemove, Name: c.Name, Service: s.Name, Number: c.Number, ID: c.ID, Reason: "scaled down"})
	}
	return steps, nil
}

func serviceScale(s *Service, o PlanOptions) int {
	if v, ok := o.Scale[s.Name]; ok {
		return v
	}
	return s.Scale
}

func isRunning(state string) bool {
	return state == "running" || state == "restarting" || state == "paused"
}

func recreateReason(s *Service, c ObservedContainer, o PlanOptions, hash, imageID, recreateDep string) string {
	switch {
	case o.ForceRecreate:
		return "forced"
	case o.NoRecreate:
		return ""
	case c.ConfigHash != hash:
		if imageID != "" && c.ImageID != imageID && ConfigHash(*s, c.ImageID) == c.ConfigHash {
			return "image changed"
		}
		return "config changed"
	case recreateDep != "":
		return "dependency " + recreateDep + " recreated"
	}
	return ""
}

// changedDeps returns a recreated dependency whose namespaces the service
// joins (it must be recreated too) and one with `restart: true` (it is
// restarted).
func changedDeps(s *Service, g *Graph, changed map[string]bool) (recreate, restart string) {
	for _, mode := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if name, ok := strings.CutPrefix(mode, "service:"); ok && changed[name] && recreate == "" {
			recreate = name
		}
	}
	for _, e := range g.ServiceDeps(s.Name) {
		if e.Restart && changed[e.Name] && restart == "" {
			restart = e.Name
		}
	}
	return recreate, restart
}

// planWaits lists the conditions a container start of s waits for: one per
// selected service dependency, naming its containers.
func planWaits(p *Project, s *Service, g *Graph, selected map[string]bool, o PlanOptions) []Wait {
	var waits []Wait
	for _, e := range g.ServiceDeps(s.Name) {
		dep, ok := p.Service(e.Name)
		if !ok || !selected[e.Name] {
			continue
		}
		w := Wait{Service: e.Name, Condition: e.Condition, Required: e.Required}
		for n := 1; n <= serviceScale(dep, o); n++ {
			w.Containers = append(w.Containers, ContainerName(p.Name, dep, n))
		}
		waits = append(waits, w)
	}
	return waits
}
