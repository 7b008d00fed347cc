#!/usr/bin/env bash
# Network setup + teardown per container (root): medians over 200 containers,
# then the teardown of 20 containers at once (5 batches), then network
# create + remove (20 networks).
# Target: setup-median-ms < 10.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
tags="seccomp netgo osusergo"
{
  go test -tags "$tags" -run '^$' -bench 'BenchmarkContainerNetwork' -benchtime 200x -count 1 ./bench/network/
  go test -tags "$tags" -run '^$' -bench 'BenchmarkTeardown20' -benchtime 5x -count 1 ./bench/network/
  go test -tags "$tags" -run '^$' -bench 'BenchmarkCreateRemove' -benchtime 20x -count 1 ./bench/network/
} | tee bench/out/network.txt
