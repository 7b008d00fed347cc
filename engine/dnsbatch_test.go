package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type runNo int

func (r runNo) Error() string { return "run" }

// TestRefreshBatch: concurrent callers share runs, and each gets the
// result of a run that started after it called.
func TestRefreshBatch(t *testing.T) {
	var b refreshBatch
	var started atomic.Int64
	refresh := func(context.Context) error {
		n := started.Add(1)
		time.Sleep(5 * time.Millisecond)
		return runNo(n)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before := started.Load()
			var got runNo
			if err := b.do(context.Background(), refresh); !errors.As(err, &got) || int64(got) <= before {
				t.Errorf("result %v for a call made after run %d started", err, before)
			}
		}()
	}
	wg.Wait()
	if n := started.Load(); n < 1 || n >= 20 {
		t.Errorf("%d runs for 20 concurrent callers", n)
	}
	if err := b.do(context.Background(), refresh); err == nil {
		t.Error("a lone call after the batch did not run")
	}
}
