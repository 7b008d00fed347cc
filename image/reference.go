package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

const (
	defaultDomain = "docker.io"
	defaultTag    = "latest"
)

var (
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	domainRE        = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$`)
)

// The simple patterns are matched by hand: compiling `^[\w][\w.-]{0,127}$`
// and the hex ones cost every berth process ~0.35 ms at start-up.

// isTag matches `^[\w][\w.-]{0,127}$`.
func isTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// isHex matches `^[a-f0-9]{1,64}$`.
func isHex(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isDigest matches `^sha256:[a-f0-9]{64}$`.
func isDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(hex) == 64 && isHex(hex)
}

// reference is a parsed, normalized image name: Repo is fully qualified
// ("docker.io/library/busybox"), Tag defaults to "latest" unless a digest
// is given.
type reference struct {
	Repo   string
	Tag    string
	Digest string
}

// parseReference parses name[:tag][@digest] the way Docker does and
// normalizes it ("busybox" == "docker.io/library/busybox:latest").
func parseReference(s string) (reference, error) {
	var r reference
	if s == "" {
		return r, fmt.Errorf("empty image reference: %w", errdefs.ErrInvalidArgument)
	}
	name := s
	if i := strings.Index(name, "@"); i >= 0 {
		r.Digest = name[i+1:]
		name = name[:i]
		if !isDigest(r.Digest) {
			return r, fmt.Errorf("image reference %q: invalid digest: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name[i+1:], "/") {
		r.Tag = name[i+1:]
		name = name[:i]
		if !isTag(r.Tag) {
			return r, fmt.Errorf("image reference %q: invalid tag %q: %w", s, r.Tag, errdefs.ErrInvalidArgument)
		}
	}
	repo, err := normalizeRepo(name)
	if err != nil {
		return r, fmt.Errorf("image reference %q: %w", s, err)
	}
	r.Repo = repo
	if r.Tag == "" && r.Digest == "" {
		r.Tag = defaultTag
	}
	return r, nil
}

// normalizeRepo validates a repository name and adds the default domain
// and the "library/" namespace like Docker.
func normalizeRepo(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty repository name: %w", errdefs.ErrInvalidArgument)
	}
	if len(name) > 255 {
		return "", fmt.Errorf("repository name longer than 255 characters: %w", errdefs.ErrInvalidArgument)
	}
	parts := strings.Split(name, "/")
	domain := ""
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || parts[0] != strings.ToLower(parts[0])) {
		domain, parts = parts[0], parts[1:]
		if !domainRE.MatchString(domain) {
			return "", fmt.Errorf("invalid registry domain %q: %w", domain, errdefs.ErrInvalidArgument)
		}
	}
	for _, p := range parts {
		if !pathComponentRE.MatchString(p) {
			if p != strings.ToLower(p) {
				return "", fmt.Errorf("repository name %q must be lowercase: %w", name, errdefs.ErrInvalidArgument)
			}
			return "", fmt.Errorf("invalid repository name %q: %w", name, errdefs.ErrInvalidArgument)
		}
	}
	if domain == "" || domain == "index.docker.io" {
		domain = defaultDomain
	}
	if domain == defaultDomain && len(parts) == 1 {
		parts = append([]string{"library"}, parts...)
	}
	return domain + "/" + strings.Join(parts, "/"), nil
}

// String is the fully qualified form, used as the key in repositories.json.
func (r reference) String() string {
	s := r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// familiar shortens a fully qualified name the way Docker displays it:
// "docker.io/library/busybox:latest" -> "busybox:latest".
func familiar(full string) string {
	s := strings.TrimPrefix(full, defaultDomain+"/")
	if s == full {
		return full
	}
	if rest, ok := strings.CutPrefix(s, "library/"); ok && !strings.Contains(repoPart(rest), "/") {
		return rest
	}
	return s
}

// repoPart strips a tag or digest from a name.
func repoPart(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i+1:], "/") {
		s = s[:i]
	}
	return s
}

// FamiliarName returns how Docker shows a fully qualified or short image
// name: "docker.io/library/busybox:latest" -> "busybox:latest". A name that
// does not parse is returned unchanged.
func FamiliarName(name string) string {
	r, err := parseReference(name)
	if err != nil {
		return name
	}
	return familiar(r.String())
}

// SplitRepoTag splits a familiar "repo:tag" into its parts (Docker's
// REPOSITORY and TAG columns); "repo@digest" gives the digest as tag.
func SplitRepoTag(s string) (repo, tag string) {
	if i := strings.Index(s, "@"); i >= 0 {
		return s[:i], s[i+1:]
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i+1:], "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// ValidateReference checks that s is a valid name[:tag] to tag an image
// with (ErrInvalidArgument otherwise).
func ValidateReference(s string) error {
	_, err := parseReference(s)
	return err
}
