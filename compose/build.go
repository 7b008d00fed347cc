package compose

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"

	"github.com/berth/berth/internal/errdefs"
)

// BuildOptions tune BuildServices.
type BuildOptions struct {
	Args   map[string]string // --build-arg: over the file's args
	Output io.Writer         // step lines and RUN output; nil discards
}

// BuildServices builds the images of the named services that have a build
// section (every such service of p when names is empty), one at a time.
// Services sharing an image name are built once.
func BuildServices(ctx context.Context, b Builder, p *Project, names []string, o BuildOptions) error {
	if len(names) == 0 {
		names = p.ServiceNames()
	}
	done := map[string]bool{}
	for _, name := range names {
		s, ok := p.Service(name)
		if !ok {
			return fmt.Errorf("no such service: %q: %w", name, errdefs.ErrNotFound)
		}
		if s.Build == nil || done[s.Image] {
			continue
		}
		if _, err := buildService(ctx, b, p, s, o); err != nil {
			return err
		}
		done[s.Image] = true
	}
	return nil
}

// buildService builds one service's image and returns its id.
func buildService(ctx context.Context, b Builder, p *Project, s *Service, o BuildOptions) (string, error) {
	if b == nil {
		return "", fmt.Errorf("service %q: this backend cannot build images: %w", s.Name, errdefs.ErrNotImplemented)
	}
	r := BuildRequest{Service: s.Name, Image: s.Image, Context: s.Build.Context, Dockerfile: s.Build.Dockerfile,
		Args: maps.Clone(s.Build.Args), Labels: s.Build.Labels, Target: s.Build.Target, Network: s.Build.Network, Output: o.Output}
	if r.Context == "" {
		r.Context = p.WorkingDir
	} else if !filepath.IsAbs(r.Context) {
		r.Context = filepath.Join(p.WorkingDir, r.Context)
	}
	if r.Dockerfile != "" && !filepath.IsAbs(r.Dockerfile) {
		r.Dockerfile = filepath.Join(r.Context, r.Dockerfile)
	}
	if r.Args == nil {
		r.Args = map[string]string{}
	}
	maps.Copy(r.Args, o.Args)
	if o.Output != nil {
		fmt.Fprintf(o.Output, "Building %s (%s)\n", s.Name, s.Image)
	}
	id, err := b.Build(ctx, r)
	if err != nil {
		return "", fmt.Errorf("service %q: build: %w", s.Name, err)
	}
	return id, nil
}
