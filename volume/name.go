package volume

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/berth/berth/internal/errdefs"
)

// AnonymousLabel marks a volume created without a name (Docker's label).
const AnonymousLabel = "com.docker.volume.anonymous"

// DefaultDriver is the only volume driver berth has.
const DefaultDriver = "local"

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidateName reports whether name is a valid volume name: Docker's rule,
// at least two characters from [a-zA-Z0-9_.-], starting with a letter or
// digit.
func ValidateName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("volume name %q: %w: names must be at least two characters of [a-zA-Z0-9_.-] and start with a letter or digit",
			name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// anonymousName returns a fresh 64-hex-digit name, like Docker's.
func anonymousName() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("anonymous volume name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
