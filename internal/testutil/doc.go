// Package testutil holds helpers shared by berth's tests: skipping without
// root, short throwaway data roots, and a busybox root filesystem built from
// Debian's busybox-static.
package testutil
