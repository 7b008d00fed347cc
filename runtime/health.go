package runtime

import (
	"bytes"
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Docker's healthcheck defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	defaultStartInterval  = 5 * time.Second
	healthLogEntries      = 5
	healthOutputMax       = 4096
)

func isHealthNone(h *Health) bool { return len(h.Test) == 0 || h.Test[0] == "NONE" }

// healthArgs turns a healthcheck test into argv.
func healthArgs(test []string) []string {
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		if len(test) > 1 {
			return []string{"/bin/sh", "-c", test[1]}
		}
		return nil
	}
	return test
}

// healthLoop runs the healthcheck until ctx is done, recording results in
// the state. done is closed when it returns.
func (mon *monitor) healthLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	h := mon.c.Spec.Health
	if h == nil || isHealthNone(h) || len(healthArgs(h.Test)) == 0 {
		return
	}
	interval, timeout, retries, startInterval := h.Interval, h.Timeout, h.Retries, h.StartInterval
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	if startInterval <= 0 {
		startInterval = defaultStartInterval
	}
	started := time.Now()
	for {
		inStart := time.Since(started) < h.StartPeriod
		wait := interval
		if inStart {
			wait = min(startInterval, interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		res := mon.probe(ctx, healthArgs(h.Test), timeout)
		if ctx.Err() != nil {
			return
		}
		inStart = time.Since(started) < h.StartPeriod
		mon.m.updateState(context.WithoutCancel(ctx), mon.c.ID, func(s *State) {
			if s.Health == nil {
				s.Health = &HealthState{Status: HealthStarting}
			}
			hs := s.Health
			hs.Log = append(hs.Log, res)
			if len(hs.Log) > healthLogEntries {
				hs.Log = hs.Log[len(hs.Log)-healthLogEntries:]
			}
			switch {
			case res.ExitCode == 0:
				hs.Status, hs.FailingStreak = HealthHealthy, 0
			case inStart && hs.Status == HealthStarting:
				// failures during the start period do not count
			default:
				hs.FailingStreak++
				if hs.FailingStreak >= retries {
					hs.Status = HealthUnhealthy
				}
			}
		})
	}
}

// limitedBuffer keeps the first healthOutputMax bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := healthOutputMax - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// probe runs one healthcheck command in the container.
func (mon *monitor) probe(ctx context.Context, args []string, timeout time.Duration) HealthResult {
	res := HealthResult{Start: time.Now().UTC(), ExitCode: -1}
	c := mon.c
	p, err := newProcess(c, mon.m.rootfsDir(c.ID), args, c.Spec.Process.Env, c.Spec.Process.Cwd, c.Spec.Process.User, false, false)
	if err != nil {
		res.End, res.Output = time.Now().UTC(), err.Error()
		return res
	}
	var out limitedBuffer
	p.Stdout, p.Stderr = &out, &out
	if err := mon.lc.Run(p); err != nil {
		res.End, res.Output = time.Now().UTC(), err.Error()
		return res
	}
	timer := time.AfterFunc(timeout, func() { p.Signal(unix.SIGKILL) })
	ps, _ := p.Wait()
	timedOut := !timer.Stop()
	res.End = time.Now().UTC()
	out.mu.Lock()
	res.Output = out.buf.String()
	out.mu.Unlock()
	if timedOut {
		res.Output = "Health check exceeded timeout (" + timeout.String() + ")"
		return res
	}
	res.ExitCode = exitStatus(ps)
	return res
}
