package volume

import (
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// MatchLabels reports whether labels satisfy every filter. A filter is
// "key" (the label exists), "key=value" (it has that value), or either of
// them prefixed with "!" for the negation (Docker's label!=...). An invalid
// filter never matches; Prune rejects it up front.
func MatchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		neg, key, val, err := parseLabelFilter(f)
		if err != nil {
			return false
		}
		got, ok := labels[key]
		match := ok && (val == nil || got == *val)
		if match == neg {
			return false
		}
	}
	return true
}

// parseLabelFilter splits "[!]key[=value]"; val is nil without "=".
func parseLabelFilter(f string) (neg bool, key string, val *string, err error) {
	if rest, ok := strings.CutPrefix(f, "!"); ok {
		neg, f = true, rest
	}
	k, v, hasVal := strings.Cut(f, "=")
	if k == "" {
		return false, "", nil, fmt.Errorf("label filter %q: %w: use key or key=value", f, errdefs.ErrInvalidArgument)
	}
	if hasVal {
		val = &v
	}
	return neg, k, val, nil
}
