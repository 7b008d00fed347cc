#!/usr/bin/env bash
# Network setup + teardown per container (root): medians over 200 containers.
# Target: setup-median-ms < 10.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -tags "seccomp netgo osusergo" -run '^$' -bench BenchmarkContainerNetwork -benchtime 200x -count 1 ./bench/network/ | tee -a bench/out/network.txt 2>/dev/null || true
