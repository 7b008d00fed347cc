package compose

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// behaviour scripts what a fake container does once started.
type behaviour struct {
	healthyAfter   int // Inspect calls after start before health is "healthy" (0: no healthcheck)
	unhealthyAfter int // Inspect calls after start before health is "unhealthy"
	exitAfter      int // Inspect calls after start before the container exits
	exitCode       int // its exit code
	startBarrier   *sync.WaitGroup
	onInspect      func(n int) // called with the inspect count
}

type fakeContainer struct {
	id, name string
	spec     ContainerSpec
	state    ContainerState
	inspects int
}

// fakeEngine is a hand-written fake of Containers, Networks, Volumes and
// Images, recording a log of what happened.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]*fakeContainer // by id
	behaviours map[string]behaviour      // by container name
	networks   map[string]bool
	volumes    map[string]bool
	images     map[string]string
	log        []string
	startErr   map[string]error
	nextID     int
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{containers: map[string]*fakeContainer{}, behaviours: map[string]behaviour{},
		networks: map[string]bool{}, volumes: map[string]bool{}, images: map[string]string{}, startErr: map[string]error{}}
}

func (f *fakeEngine) backend() Backend {
	return Backend{Containers: f, Networks: fakeNetworks{f}, Volumes: fakeVolumes{f}, Images: f}
}

func (f *fakeEngine) record(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeEngine) Create(_ context.Context, spec ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.name == spec.Name {
			return "", fmt.Errorf("container %q: %w", spec.Name, errdefs.ErrAlreadyExists)
		}
	}
	f.nextID++
	id := fmt.Sprintf("id%d", f.nextID)
	f.containers[id] = &fakeContainer{id: id, name: spec.Name, spec: spec, state: ContainerState{Status: "created"}}
	f.record("create %s", spec.Name)
	return id, nil
}

func (f *fakeEngine) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	c, ok := f.containers[id]
	if !ok {
		f.mu.Unlock()
		return errdefs.ErrNotFound
	}
	b := f.behaviours[c.name]
	if err := f.startErr[c.name]; err != nil {
		f.mu.Unlock()
		return err
	}
	f.mu.Unlock()
	if b.startBarrier != nil {
		b.startBarrier.Done()
		waited := make(chan struct{})
		go func() { b.startBarrier.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c.state = ContainerState{Status: "running"}
	if b.healthyAfter > 0 || b.unhealthyAfter > 0 {
		c.state.Health = "starting"
	}
	c.inspects = 0
	f.record("start %s", c.name)
	return nil
}

func (f *fakeEngine) Stop(_ context.Context, id string, _ *time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return errdefs.ErrNotFound
	}
	if c.state.Status == "running" {
		c.state.Status = "exited"
		f.record("stop %s", c.name)
	}
	return nil
}

func (f *fakeEngine) Remove(_ context.Context, id string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return errdefs.ErrNotFound
	}
	delete(f.containers, id)
	f.record("remove %s", c.name)
	return nil
}

func (f *fakeEngine) Inspect(_ context.Context, id string) (ContainerState, error) {
	f.mu.Lock()
	c, ok := f.containers[id]
	if !ok {
		f.mu.Unlock()
		return ContainerState{}, errdefs.ErrNotFound
	}
	b := f.behaviours[c.name]
	c.inspects++
	n := c.inspects
	if c.state.Status == "running" {
		switch {
		case b.exitAfter > 0 && n >= b.exitAfter:
			c.state = ContainerState{Status: "exited", ExitCode: b.exitCode}
			f.record("exit %s %d", c.name, b.exitCode)
		case b.unhealthyAfter > 0 && n >= b.unhealthyAfter && c.state.Health != "unhealthy":
			c.state.Health = "unhealthy"
			f.record("unhealthy %s", c.name)
		case b.healthyAfter > 0 && n >= b.healthyAfter && c.state.Health == "starting":
			c.state.Health = "healthy"
			f.record("healthy %s", c.name)
		}
	}
	st := c.state
	f.mu.Unlock()
	if b.onInspect != nil {
		b.onInspect(n)
	}
	return st, nil
}

func (f *fakeEngine) List(_ context.Context, project string) ([]ObservedContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ObservedContainer
	for _, c := range f.containers {
		if c.spec.Project != project {
			continue
		}
		out = append(out, ObservedContainer{ID: c.id, Name: c.name, Service: c.spec.Service, Number: c.spec.Number,
			ConfigHash: c.spec.Labels[LabelConfigHash], ImageID: c.spec.ImageID, State: c.state.Status})
	}
	return out, nil
}

func (f *fakeEngine) Exists(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.images[ref]
	if !ok {
		return "", fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound)
	}
	return id, nil
}

// running lists the names of running containers, sorted.
func (f *fakeEngine) names(status string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.containers {
		if status == "" || c.state.Status == status {
			out = append(out, c.name)
		}
	}
	sort.Strings(out)
	return out
}

type fakeNetworks struct{ f *fakeEngine }

func (n fakeNetworks) Create(_ context.Context, spec NetworkSpec) error {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	if n.f.networks[spec.Name] {
		return errdefs.ErrAlreadyExists
	}
	n.f.networks[spec.Name] = true
	n.f.record("create network %s", spec.Name)
	return nil
}

func (n fakeNetworks) Remove(_ context.Context, name string) error {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	if !n.f.networks[name] {
		return errdefs.ErrNotFound
	}
	delete(n.f.networks, name)
	n.f.record("remove network %s", name)
	return nil
}

func (n fakeNetworks) Exists(_ context.Context, name string) (bool, error) {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	return n.f.networks[name], nil
}

func (n fakeNetworks) List(_ context.Context, project string) ([]string, error) {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	var out []string
	for name := range n.f.networks {
		if strings.HasPrefix(name, project+"_") {
			out = append(out, name)
		}
	}
	return out, nil
}

type fakeVolumes struct{ f *fakeEngine }

func (v fakeVolumes) Create(_ context.Context, spec VolumeSpec) error {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	if v.f.volumes[spec.Name] {
		return errdefs.ErrAlreadyExists
	}
	v.f.volumes[spec.Name] = true
	v.f.record("create volume %s", spec.Name)
	return nil
}

func (v fakeVolumes) Remove(_ context.Context, name string) error {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	if !v.f.volumes[name] {
		return errdefs.ErrNotFound
	}
	delete(v.f.volumes, name)
	v.f.record("remove volume %s", name)
	return nil
}

func (v fakeVolumes) Exists(_ context.Context, name string) (bool, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	return v.f.volumes[name], nil
}

func (v fakeVolumes) List(_ context.Context, project string) ([]string, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	var out []string
	for name := range v.f.volumes {
		if strings.HasPrefix(name, project+"_") {
			out = append(out, name)
		}
	}
	return out, nil
}

var osReadFile = os.ReadFile
