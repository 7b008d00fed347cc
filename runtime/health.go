package runtime

import "context"

func isHealthNone(h *Health) bool { return len(h.Test) == 0 || h.Test[0] == "NONE" }

// healthLoop runs the healthcheck until ctx is done.
func (mon *monitor) healthLoop(ctx context.Context) {}
