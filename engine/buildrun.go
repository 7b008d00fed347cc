package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berth/berth/runtime"
)

// RunOnce runs cfg as a throwaway container (a build's RUN step): it
// starts it with its output on stdout and stderr, waits for its exit,
// calls commit with its overlay upper directory when it exited 0, and
// removes it (and its anonymous volumes) in every case. A cancelled ctx
// kills it. It returns the exit code.
func (e *Engine) RunOnce(ctx context.Context, cfg ContainerConfig, stdout, stderr io.Writer, commit func(upperDir string) error) (int, error) {
	c, err := e.Create(ctx, cfg)
	if err != nil {
		return 0, err
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		rctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		e.Remove(rctx, c.ID, RemoveOptions{Force: true, Volumes: true})
	}()
	stop := context.AfterFunc(ctx, func() { e.Kill(bg, c.ID, "KILL") })
	defer stop()
	if err := e.Start(bg, c.ID, StartOptions{Attach: &runtime.AttachOptions{Stdout: stdout, Stderr: stderr}}); err != nil {
		return 0, err
	}
	code, err := e.Runtime.Wait(bg, c.ID, "not-running")
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if code == 0 && commit != nil {
		if err := commit(e.Runtime.UpperDir(c.ID)); err != nil {
			return 0, err
		}
	}
	return code, nil
}

// MountImage shows image ref's root filesystem, read-only, at the
// returned directory until release is called (a build's COPY --from).
func (e *Engine) MountImage(ctx context.Context, ref string) (string, func(), error) {
	layers, err := e.Images.Layers(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	switch len(layers) {
	case 0:
		dir, err := os.MkdirTemp("", "berth-image-")
		if err != nil {
			return "", nil, err
		}
		return dir, func() { os.Remove(dir) }, nil
	case 1:
		return layers[0], func() {}, nil
	}
	dir, err := os.MkdirTemp("", "berth-image-")
	if err != nil {
		return "", nil, err
	}
	if err := mountOverlayRO(layers, dir); err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("image %s: mount its layers: %w", ref, err)
	}
	return dir, func() { unmount(dir); os.Remove(dir) }, nil
}
