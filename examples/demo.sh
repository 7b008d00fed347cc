#!/usr/bin/env bash
# make demo: build berth (done by make), make the busybox image, bring up the
# hello project, show it working, take it down.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=$PWD/bin/berth
export BERTH_ROOT=${BERTH_ROOT:-/var/lib/berth}
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
if ! "$BERTH" image inspect busybox >/dev/null 2>&1; then
  say "examples/mkbusybox.sh"; examples/mkbusybox.sh "$BERTH"
fi
cd examples/hello
trap '"$BERTH" down -t 1 >/dev/null 2>&1 || true' EXIT
say "berth up -d"; "$BERTH" up -d
say "berth ps"; "$BERTH" ps
say "wget -qO- http://127.0.0.1:18080/"
for i in $(seq 1 50); do out=$(busybox wget -qO- http://127.0.0.1:18080/ 2>/dev/null) && break; sleep 0.1; done
echo "${out:-no answer}"
sleep 1
say "berth logs client"; "$BERTH" logs client
say "berth down"; "$BERTH" down
trap - EXIT
