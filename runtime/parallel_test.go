package runtime

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sync/errgroup"
)

// TestParallelLifecycle runs several containers through their whole life
// at once: names, cgroup parents and locks must not get in each other's way.
func TestParallelLifecycle(t *testing.T) {
	m, layers := newTestManager(t)
	ctx := context.Background()
	var g errgroup.Group
	pids := make([]int, 8)
	ids := make([]string, 8)
	for i := range 8 {
		g.Go(func() error {
			spec := testSpec(layers, "sh", "-c", fmt.Sprintf("echo c%d; sleep 100", i))
			spec.Name = fmt.Sprintf("p%d", i)
			spec.Resources.PidsLimit = 50
			c, err := m.Create(ctx, spec)
			if err != nil {
				return err
			}
			ids[i] = c.ID
			if err := m.Start(ctx, c.ID, StartOptions{}); err != nil {
				return err
			}
			got, err := m.Get(ctx, spec.Name)
			if err != nil {
				return err
			}
			if got.State.Status != StatusRunning {
				return fmt.Errorf("%s: %s", spec.Name, got.State.Status)
			}
			pids[i] = got.State.Pid
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		g.Go(func() error { return m.Remove(ctx, ids[i], RemoveOptions{Force: true}) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		assertGone(t, m, ids[i], pids[i])
	}
}
