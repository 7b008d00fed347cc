package runtime

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// sharedNamespaces returns c with its "container:<id>" pid and IPC modes
// replaced by the path of that container's namespace, read now: the other
// container must be running, and a restart of it is followed at our next
// start, as in Docker.
func (m *Manager) sharedNamespaces(ctx context.Context, c *Container) (*Container, error) {
	out := *c
	for _, s := range []struct {
		mode *string
		ns   string
	}{{&out.Spec.PIDMode, "pid"}, {&out.Spec.IPCMode, "ipc"}} {
		ref, ok := strings.CutPrefix(*s.mode, "container:")
		if !ok {
			continue
		}
		other, err := m.Get(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("%s namespace of container %q: %w", s.ns, ref, err)
		}
		if !other.State.Running() || other.State.Pid <= 0 {
			return nil, errdefs.Errorf(errdefs.ErrFailedPrecondition,
				"cannot join the %s namespace of container %q: it is not running", s.ns, other.Name)
		}
		*s.mode = fmt.Sprintf("/proc/%d/ns/%s", other.State.Pid, s.ns)
	}
	return &out, nil
}
