package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth/berth/internal/atomicfile"
)

// SetExtra stores value under key in the container's Spec.Extra, under the
// container's lock. The runtime never reads Extra: it is the upper layers'
// own record (the engine keeps a container's networks there, which
// `network connect` changes after create).
func (m *Manager) SetExtra(ctx context.Context, ref, key string, value json.RawMessage) error {
	id, err := m.resolve(ref)
	if err != nil {
		return err
	}
	h, err := m.lock(ctx, id)
	if err != nil {
		return err
	}
	defer h.Unlock()
	var sc storedConfig
	if err := atomicfile.ReadJSON(m.configPath(id), &sc); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	if sc.Extra == nil {
		sc.Extra = map[string]json.RawMessage{}
	}
	sc.Extra[key] = value
	return atomicfile.WriteJSON(m.configPath(id), sc, 0o600)
}
