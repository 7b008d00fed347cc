package runtime

import (
	"context"
	"fmt"

	"github.com/berth/berth/internal/errdefs"
)

func notYet(what string) error { return fmt.Errorf("runtime: %s: %w", what, errdefs.ErrNotImplemented) }

// Attach connects to a running container's stdio.
func (m *Manager) Attach(ctx context.Context, ref string, opts AttachOptions) error {
	return notYet("attach")
}
