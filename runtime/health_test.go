package runtime

import (
	"context"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	m, layers := newTestManager(t)
	ok := testSpec(layers, "sh", "-c", "sleep 0.5; touch /tmp/ready; sleep 100")
	ok.Health = &Health{Test: []string{"CMD", "test", "-e", "/tmp/ready"}, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second, Retries: 2}
	bad := testSpec(layers, "sleep", "100")
	bad.Health = &Health{Test: []string{"CMD-SHELL", "echo failing; exit 1"}, Interval: 100 * time.Millisecond, Retries: 3}
	cok, cbad := run(t, m, ok), run(t, m, bad)
	if got, _ := m.Get(context.Background(), cok.ID); got.State.Health == nil || got.State.Health.Status != HealthStarting {
		t.Fatalf("initial health %+v", got.State.Health)
	}
	eventually(t, "healthy", func() bool {
		got, _ := m.Get(context.Background(), cok.ID)
		return got.State.Health.Status == HealthHealthy
	})
	eventually(t, "unhealthy", func() bool {
		got, _ := m.Get(context.Background(), cbad.ID)
		return got.State.Health.Status == HealthUnhealthy
	})
	got, _ := m.Get(context.Background(), cbad.ID)
	hs := got.State.Health
	if hs.FailingStreak < 3 || len(hs.Log) == 0 || hs.Log[len(hs.Log)-1].Output != "failing\n" || hs.Log[len(hs.Log)-1].ExitCode != 1 {
		t.Fatalf("health state %+v", hs)
	}
}
