package runtime

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sync/errgroup"
)

// Two roots share the host's cgroup parents (/sys/fs/cgroup/*/berth): one
// root removing its last container must never delete the parent under the
// other root's start. Each root runs start-remove cycles in four workers,
// so the parent empties again and again while the other root starts. (The
// race this guards, between libcontainer recreating the parent and reading
// its cpuset.cpus, is narrow: it showed once in a parallel e2e run, and this
// test does not hit it on demand; the fix, a host-wide lock, follows from
// the parents being host-wide.)
func TestTwoRootsShareCgroupParents(t *testing.T) {
	ma, layers := newTestManager(t)
	mb, _ := newTestManager(t)
	ctx := context.Background()
	var g errgroup.Group
	for n := range 8 {
		r, m := n%2, []*Manager{ma, mb}[n%2]
		g.Go(func() error {
			for i := range 6 {
				spec := testSpec(layers, "true")
				spec.Name = fmt.Sprintf("r%d-%d-%d", r, n, i)
				c, err := m.Create(ctx, spec)
				if err != nil {
					return err
				}
				if err := m.Start(ctx, c.ID, StartOptions{}); err != nil {
					return fmt.Errorf("root %d, cycle %d: start: %w", r, i, err)
				}
				if err := m.Remove(ctx, c.ID, RemoveOptions{Force: true}); err != nil {
					return fmt.Errorf("root %d, cycle %d: remove: %w", r, i, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
