// Package networkbench measures berth's per-container network setup
// (NewNetNS + Attach) and teardown (Detach + DeleteNetNS). Run it as root
// with ./run.sh or `go test -tags "seccomp netgo osusergo" -run '^$' -bench . ./bench/network/`.
package networkbench
