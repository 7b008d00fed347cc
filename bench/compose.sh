#!/usr/bin/env bash
# `berth up -d` and `berth down` of a generated project of N busybox services
# whose depends_on form a binary tree (service i depends on (i-1)/2).
# Targets (issue 4) for N=20: up -d < 1 s, down < 1 s (Docker Compose ~6.0 s / 1.7 s here).
set -euo pipefail
cd "$(dirname "$0")"; . ./lib.sh
N=${1:-20}; RUNS=${RUNS:-5}
root=$(bench_root)
proj=$(mktemp -d /tmp/bc-XXXX)
trap '(cd "$proj" && "$BERTH" --root "$root" down -v -t 1 >/dev/null 2>&1) || true; cleanup_root "$root"; rm -rf "$proj"' EXIT
{
  echo "name: tree$N"
  echo "services:"
  for i in $(seq 0 $((N-1))); do
    echo "  s$i:"
    echo "    image: busybox"
    echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]"
    if [ "$i" -gt 0 ]; then echo "    depends_on: [s$(( (i-1)/2 ))]"; fi
  done
} > "$proj/compose.yaml"
ups=(); downs=()
for r in $(seq 1 "$RUNS"); do
  t0=$(ms_now); (cd "$proj" && "$BERTH" --root "$root" up -d --progress quiet); t1=$(ms_now)
  (cd "$proj" && "$BERTH" --root "$root" down --progress quiet); t2=$(ms_now)
  ups+=($(( (t1-t0)/1000000 ))); downs+=($(( (t2-t1)/1000000 )))
done
printf "  up -d runs (ms): %s\n" "${ups[*]}"
printf 'compose N=%d: up -d median %s ms, down median %s ms over %d runs (target N=20: < 1000 ms each)\n' \
  "$N" "$(printf '%s\n' "${ups[@]}" | median)" "$(printf '%s\n' "${downs[@]}" | median)" "$RUNS"
