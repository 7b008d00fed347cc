//go:build !cgo || !seccomp

package seccompmemo

// Enabled reports whether this build memoizes (cgo and the seccomp tag).
const Enabled = false

// Open does nothing in a build without libseccomp.
func Open(string) error { return nil }

// Close does nothing in a build without libseccomp.
func Close() {}

// Hits is 0 in a build without libseccomp.
func Hits() int64 { return 0 }
