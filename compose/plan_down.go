package compose

import (
	"fmt"
	"sort"
	"strings"
)

// DownOptions are down's flags that shape the plan.
type DownOptions struct {
	Volumes       bool // -v: remove the project's named volumes too
	RemoveOrphans bool
}

// PlanDown computes the steps that remove a project: its containers in
// reverse dependency order (dependents first), then its networks, then with
// Volumes its named volumes. desired may be nil when no compose file is at
// hand: every observed object of the project then goes.
func PlanDown(desired *Project, observed Observed, o DownOptions) (Plan, error) {
	plan := Plan{Project: desired, Down: true}
	known := map[string]bool{}
	var order []string
	if desired != nil {
		g := NewGraph(desired)
		plan.Graph = g
		fwd, err := g.Order()
		if err != nil {
			return Plan{}, err
		}
		for i := len(fwd) - 1; i >= 0; i-- {
			order = append(order, fwd[i])
		}
		for _, n := range fwd {
			known[n] = true
		}
		for _, n := range desired.DisabledServices {
			known[n] = true
		}
	}
	byService := map[string][]ObservedContainer{}
	var orphans []string
	for _, c := range sortedContainers(observed.Containers) {
		if desired != nil && !known[c.Service] && !c.OneOff && !o.RemoveOrphans {
			orphans = append(orphans, c.Name)
			continue
		}
		if _, seen := byService[c.Service]; !seen && !contains(order, c.Service) {
			// services the file does not know (or no file): first, by name
			order = append([]string{c.Service}, order...)
		}
		byService[c.Service] = append(byService[c.Service], c)
	}
	sortUnknownFirst(order, known)
	if len(orphans) > 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("found orphan containers (%s): remove them with --remove-orphans", strings.Join(orphans, ", ")))
	}
	for _, svc := range order {
		cs := byService[svc]
		if len(cs) == 0 {
			continue
		}
		plan.Services = append(plan.Services, svc)
		for _, c := range cs {
			if isRunning(c.State) {
				plan.Steps = append(plan.Steps, Step{Action: ActStop, Name: c.Name, Service: svc, Number: c.Number, ID: c.ID})
			}
			plan.Steps = append(plan.Steps, Step{Action: ActRemove, Name: c.Name, Service: svc, Number: c.Number, ID: c.ID})
		}
	}
	plan.Steps = append(plan.Steps, downObjects(desired, observed, o)...)
	return plan, nil
}

// sortUnknownFirst keeps the services unknown to the file at the front,
// sorted by name, and the rest in reverse dependency order.
func sortUnknownFirst(order []string, known map[string]bool) {
	n := 0
	for n < len(order) && !known[order[n]] {
		n++
	}
	sort.Strings(order[:n])
}

func downObjects(desired *Project, observed Observed, o DownOptions) []Step {
	var steps []Step
	if desired == nil {
		for _, n := range sortedCopy(observed.Networks) {
			steps = append(steps, Step{Action: ActRemoveNetwork, Name: n})
		}
		if o.Volumes {
			for _, v := range sortedCopy(observed.Volumes) {
				steps = append(steps, Step{Action: ActRemoveVolume, Name: v})
			}
		}
		return steps
	}
	for _, key := range sortedKeys(desired.Networks) {
		n := desired.Networks[key]
		if !n.External && contains(observed.Networks, n.Name) {
			steps = append(steps, Step{Action: ActRemoveNetwork, Name: n.Name, Key: key})
		}
	}
	if o.Volumes {
		for _, key := range sortedKeys(desired.Volumes) {
			v := desired.Volumes[key]
			if !v.External && contains(observed.Volumes, v.Name) {
				steps = append(steps, Step{Action: ActRemoveVolume, Name: v.Name, Key: key})
			}
		}
	}
	return steps
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
