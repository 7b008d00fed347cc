package format

import (
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// KeyValues parses the values of a repeated key=value flag (--label,
// --opt) into a map; nil when there are none. With bareKeys a value
// without "=" is a key with an empty value (as Docker's --label); without
// it, it is an error. An empty key is an error; errors name flag and are
// errdefs.ErrInvalidArgument.
func KeyValues(flag string, values []string, bareKeys bool) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" || (!ok && !bareKeys) {
			return nil, fmt.Errorf("--%s %q: %w: use key=value", flag, kv, errdefs.ErrInvalidArgument)
		}
		m[k] = v
	}
	return m, nil
}
