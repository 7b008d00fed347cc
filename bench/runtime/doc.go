// Package runtime benchmarks berth's container runtime directly (no CLI):
// create + start + wait + remove of /bin/true, and the RSS of a running
// container's monitor. Run as root:
//
//	go test -tags "seccomp netgo osusergo" -bench . -run '^$' ./bench/runtime/
//
// With BERTH_BIN set to a built berth binary the monitors are that binary
// ("berth __monitor"), as in production; otherwise the test binary serves.
package runtime
