// Package builder wires image/build to the engine: RUN steps run as the
// engine's throwaway containers, COPY --from mounts images through it. It
// is apart from engine so that the monitor binary, which links engine,
// does not link the Dockerfile parser.
package builder

import (
	"context"
	"errors"
	"io"

	"github.com/berth/berth/engine"
	"github.com/berth/berth/image"
	"github.com/berth/berth/image/build"
)

// Build builds o with e's image store and containers and returns the
// image. A failed RUN is a *build.ExitError.
func Build(ctx context.Context, e *engine.Engine, o build.Options) (*image.Image, error) {
	b := &build.Builder{Store: e.Images, Exec: executor{e}, TempDir: e.Layout.Data}
	img, err := b.Build(ctx, o)
	var ee *build.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	return img, err
}

// executor runs a build's steps through the engine.
type executor struct{ e *engine.Engine }

func (x executor) Run(ctx context.Context, s build.RunSpec, commit func(string) error) (int, error) {
	cfg := engine.ContainerConfig{
		Image: s.Image, Cmd: s.Cmd, EntrypointSet: true, Env: s.Env, WorkingDir: s.WorkingDir, User: s.User,
		NetworkMode: s.NetworkMode, Health: &engine.HealthConfig{Test: []string{"NONE"}},
	}
	stdout, stderr := s.Stdout, s.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return x.e.RunOnce(ctx, cfg, stdout, stderr, commit)
}

func (x executor) Mount(ctx context.Context, id string) (string, func(), error) {
	return x.e.MountImage(ctx, id)
}
