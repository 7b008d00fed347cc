package engine

import (
	"context"
	"fmt"
)

// RemoveNetwork removes a network and drops it from the DNS records, so
// the DNS server lets go of its gateway address (and exits once no network
// is left). Every removal of a network — `network rm`, `network prune`,
// compose's `down` — goes through here, so none leaves a server behind
// holding an address another root may get next.
func (e *Engine) RemoveNetwork(ctx context.Context, ref string) error {
	if err := e.Networks.Remove(ctx, ref); err != nil {
		return err
	}
	if err := e.RefreshDNS(ctx); err != nil {
		return fmt.Errorf("network %q removed, but the DNS records were not updated: %w", ref, err)
	}
	return nil
}
