package engine

import (
	"context"
	"sync"
)

// refreshBatch runs the DNS refreshes of one root for the goroutines of
// this process like a group commit. A compose up or down refreshes once per
// container, concurrently; each refresh rewrites the snapshot, wakes the
// server to reload it and waits until it has. While one refresh runs, the
// callers that arrive queue, and the next refresh, which reads the
// endpoints after they arrived, serves them all. A lone caller is not
// delayed.
type refreshBatch struct {
	mu      sync.Mutex
	running bool
	waiting []chan error
}

var batches struct {
	sync.Mutex
	byDir map[string]*refreshBatch
}

func batchFor(dir string) *refreshBatch {
	batches.Lock()
	defer batches.Unlock()
	if batches.byDir == nil {
		batches.byDir = map[string]*refreshBatch{}
	}
	b, ok := batches.byDir[dir]
	if !ok {
		b = &refreshBatch{}
		batches.byDir[dir] = b
	}
	return b
}

// do returns the result of a run of refresh that started after do was
// called. The first caller runs the batches until no caller waits.
func (b *refreshBatch) do(ctx context.Context, refresh func(context.Context) error) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.waiting = append(b.waiting, done)
	if b.running {
		b.mu.Unlock()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.running = true
	b.mu.Unlock()
	for {
		b.mu.Lock()
		batch := b.waiting
		b.waiting = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			break
		}
		b.mu.Unlock()
		err := refresh(context.WithoutCancel(ctx))
		for _, c := range batch {
			c <- err
		}
	}
	return <-done
}
