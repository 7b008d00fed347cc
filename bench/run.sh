#!/usr/bin/env bash
# make bench: every benchmark, one after the other (root). Figures print to
# stdout; bench/out/ keeps the raw numbers.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
mkdir -p out
for b in runtime.sh monitor_rss.sh; do
  echo "== $b"; ./$b
done
for d in network dns; do
  if [ -x "$d/run.sh" ]; then echo "== $d"; "$d/run.sh"; fi
done
if [ -x compose.sh ]; then echo "== compose"; ./compose.sh 20; ./compose.sh 100; fi
