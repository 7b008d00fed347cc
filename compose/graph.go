package compose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// Node kinds of the Graph.
const (
	KindService = "service"
	KindNetwork = "network"
	KindVolume  = "volume"
)

// Edge is one dependency of a service: on another service (with a
// condition), or on a network or volume (which must exist first).
type Edge struct {
	Kind      string // KindService, KindNetwork, KindVolume
	Name      string // service name, or network/volume key
	Condition string // for services: ConditionStarted, ConditionHealthy, ConditionCompleted
	Required  bool
	Restart   bool
}

// Graph is the project's dependency graph: services are nodes whose edges
// point at the services (depends_on, links, network_mode/ipc/pid
// service:X), networks and volumes they need.
type Graph struct {
	// Edges maps a service name to its dependencies, sorted.
	Edges map[string][]Edge
	// Services are the service names, sorted.
	Services []string
}

// NewGraph builds the graph of p. Dependencies on services missing from p
// (disabled by a profile, or not selected) are kept; callers decide.
func NewGraph(p *Project) *Graph {
	g := &Graph{Edges: map[string][]Edge{}}
	for _, s := range p.Services {
		g.Services = append(g.Services, s.Name)
		g.Edges[s.Name] = serviceEdges(&s)
	}
	sort.Strings(g.Services)
	return g
}

func serviceEdges(s *Service) []Edge {
	seen := map[string]int{}
	var edges []Edge
	addSvc := func(e Edge) {
		if i, ok := seen[e.Name]; ok {
			// depends_on wins over implicit edges: keep the stronger condition
			if edges[i].Condition == ConditionStarted {
				edges[i].Condition = e.Condition
			}
			edges[i].Required = edges[i].Required || e.Required
			edges[i].Restart = edges[i].Restart || e.Restart
			return
		}
		seen[e.Name] = len(edges)
		edges = append(edges, e)
	}
	for _, d := range s.DependsOn {
		addSvc(Edge{Kind: KindService, Name: d.Service, Condition: d.Condition, Required: d.Required, Restart: d.Restart})
	}
	for _, mode := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if name, ok := strings.CutPrefix(mode, "service:"); ok {
			addSvc(Edge{Kind: KindService, Name: name, Condition: ConditionStarted, Required: true, Restart: true})
		}
	}
	for _, l := range s.Links {
		name, _, _ := strings.Cut(l, ":")
		addSvc(Edge{Kind: KindService, Name: name, Condition: ConditionStarted, Required: true})
	}
	for _, n := range s.Networks {
		edges = append(edges, Edge{Kind: KindNetwork, Name: n.Key, Required: true})
	}
	vols := map[string]bool{}
	for _, m := range s.Mounts {
		if m.Type == MountVolume && m.Source != "" && !vols[m.Source] {
			vols[m.Source] = true
			edges = append(edges, Edge{Kind: KindVolume, Name: m.Source, Required: true})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].Kind != edges[j].Kind {
			return kindRank[edges[i].Kind] < kindRank[edges[j].Kind]
		}
		return edges[i].Name < edges[j].Name
	})
	return edges
}

var kindRank = map[string]int{KindService: 0, KindNetwork: 1, KindVolume: 2}

// ServiceDeps returns the service edges of name.
func (g *Graph) ServiceDeps(name string) []Edge {
	var out []Edge
	for _, e := range g.Edges[name] {
		if e.Kind == KindService {
			out = append(out, e)
		}
	}
	return out
}

// Dependents returns the services that depend on name, sorted.
func (g *Graph) Dependents(name string) []string {
	var out []string
	for _, s := range g.Services {
		for _, e := range g.ServiceDeps(s) {
			if e.Name == name {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Order returns the services in dependency order (dependencies first, ties
// by name), or an error naming a cycle ("dependency cycle: web -> api -> web").
func (g *Graph) Order() ([]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order, stack []string
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			i := indexOf(stack, n)
			cycle := append(append([]string{}, stack[i:]...), n)
			return fmt.Errorf("dependency cycle: %s: %w", strings.Join(cycle, " -> "), errdefs.ErrInvalidArgument)
		}
		if _, known := g.Edges[n]; !known {
			return nil // a dependency outside the graph
		}
		state[n] = visiting
		stack = append(stack, n)
		for _, e := range g.ServiceDeps(n) {
			if err := visit(e.Name); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, s := range g.Services {
		if err := visit(s); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Closure returns names plus every service they depend on, transitively,
// that is in the graph.
func (g *Graph) Closure(names []string) map[string]bool {
	out := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if out[n] {
			return
		}
		if _, ok := g.Edges[n]; !ok {
			return
		}
		out[n] = true
		for _, e := range g.ServiceDeps(n) {
			add(e.Name)
		}
	}
	for _, n := range names {
		add(n)
	}
	return out
}

// CheckCycle returns an error naming the first dependency cycle of p, and
// an error when a required dependency names an unknown service.
func CheckCycle(p *Project) error {
	g := NewGraph(p)
	if _, err := g.Order(); err != nil {
		return err
	}
	disabled := map[string]bool{}
	for _, d := range p.DisabledServices {
		disabled[d] = true
	}
	for _, s := range g.Services {
		for _, e := range g.ServiceDeps(s) {
			if _, ok := g.Edges[e.Name]; !ok && !disabled[e.Name] && e.Required {
				return fmt.Errorf("service %q depends on undefined service %q: %w", s, e.Name, errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
