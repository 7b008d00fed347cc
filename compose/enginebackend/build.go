package enginebackend

import (
	"context"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/engine"
	"github.com/berth/berth/engine/builder"
	"github.com/berth/berth/image/build"
)

type builds struct{ e *engine.Engine }

func (b builds) Build(ctx context.Context, r compose.BuildRequest) (string, error) {
	img, err := builder.Build(ctx, b.e, build.Options{
		ContextDir: r.Context, Dockerfile: r.Dockerfile, Tags: []string{r.Image}, BuildArgs: r.Args,
		Labels: r.Labels, Target: r.Target, NetworkMode: buildNetwork(r.Network), Progress: r.Output,
	})
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// buildNetwork maps compose's build network to the builder's.
func buildNetwork(n string) string {
	if n == "default" || n == "bridge" {
		return ""
	}
	return n
}
