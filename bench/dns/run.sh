#!/usr/bin/env bash
# DNS (root): dnsperf from a netns against berth's DNS server on the
# bridge gateway, 50 names, 10 s per run, median of 3 runs.
# Target: >= 60k queries/s, 0 lost. BERTH_BIN (set by `make bench`) selects
# the berth binary's `__dns`; without it the bench runs dns.Serve itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
go run -tags "seccomp netgo osusergo" ./bench/dns "$@" | tee -a bench/out/dns.txt
