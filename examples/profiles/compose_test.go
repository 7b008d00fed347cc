// Package profiles_test checks that the profiles example's compose file says
// what its README promises, as berth's loader reads it.
package profiles_test

import (
	"context"
	"slices"
	"testing"

	"github.com/berth/berth/compose"
)

func TestProfiles(t *testing.T) {
	tests := []struct {
		name     string
		profiles []string
		enabled  []string
		disabled []string
	}{
		{name: "none", enabled: []string{"worker"}, disabled: []string{"debug", "task"}},
		{name: "debug", profiles: []string{"debug"}, enabled: []string{"debug", "worker"}, disabled: []string{"task"}},
		{name: "tools", profiles: []string{"tools"}, enabled: []string{"task", "worker"}, disabled: []string{"debug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compose.Load(context.Background(), compose.LoadOptions{SearchDir: ".", Profiles: tt.profiles, Env: []string{}})
			if err != nil {
				t.Fatalf("load examples/profiles: %v", err)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("unsupported keys: %v", p.Warnings)
			}
			var names []string
			for _, s := range p.Services {
				names = append(names, s.Name)
			}
			slices.Sort(names)
			disabled := slices.Sorted(slices.Values(p.DisabledServices))
			if !slices.Equal(names, tt.enabled) || !slices.Equal(disabled, tt.disabled) {
				t.Errorf("services %v, disabled %v; want %v, %v", names, disabled, tt.enabled, tt.disabled)
			}
		})
	}
}

func TestWorkerReplicas(t *testing.T) {
	p, err := compose.Load(context.Background(), compose.LoadOptions{SearchDir: ".", Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Services, func(s compose.Service) bool { return s.Name == "worker" })
	if i < 0 {
		t.Fatal("no worker service")
	}
	if w := p.Services[i]; w.Scale != 3 || w.Healthcheck == nil {
		t.Errorf("worker scale %d, healthcheck %v; want 3 replicas with a healthcheck", w.Scale, w.Healthcheck)
	}
}
