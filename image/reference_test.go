package image

import (
	"regexp"
	"strings"
	"testing"
)

// TestMatchers: the hand-written matchers agree with the patterns they
// replace.
func TestMatchers(t *testing.T) {
	hex64 := strings.Repeat("a1", 32)
	inputs := []string{"", "latest", "v1.2-rc_3", "_x", ".x", "-x", "a b", "ü", strings.Repeat("t", 128), strings.Repeat("t", 129),
		"0", "abc", "ABC", "g", hex64, hex64 + "0", "sha256:" + hex64, "sha256:" + hex64[:63], "sha512:" + hex64, "sha256:" + strings.ToUpper(hex64)}
	for _, c := range []struct {
		name string
		re   *regexp.Regexp
		f    func(string) bool
	}{
		{"tag", regexp.MustCompile(`^[\w][\w.-]{0,127}$`), isTag},
		{"hex", regexp.MustCompile(`^[a-f0-9]{1,64}$`), isHex},
		{"digest", regexp.MustCompile(`^sha256:[a-f0-9]{64}$`), isDigest},
	} {
		for _, in := range inputs {
			if got, want := c.f(in), c.re.MatchString(in); got != want {
				t.Errorf("%s(%q) = %v, want %v", c.name, in, got, want)
			}
		}
	}
}
