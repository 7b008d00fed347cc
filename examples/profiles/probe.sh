#!/usr/bin/env bash
# Probes a running examples/profiles project (after `berth up -d --wait`):
#   - exactly the 3 worker replicas run (no debug, no task container);
#   - `berth exec worker nslookup worker` returns 3 addresses;
#   - `berth run --rm task` (a service in profile "tools", started because it
#     is named) reaches each replica by its address and removes itself;
#   - `berth --profile debug up -d debug` starts debug, which resolves the 3
#     workers too, without recreating them; then debug is stopped and removed.
# Usage: examples/profiles/probe.sh [BERTH_CMD...]   (default: bin/berth of this repo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ $# -gt 0 ] || set -- "$here/../../bin/berth"
B=("$@")

fail() { echo "profiles probe: FAIL: $*" >&2; exit 1; }
ok() { echo "profiles probe: ok: $*" >&2; }

# addresses NAME: the A records busybox's nslookup printed on stdin.
addresses() { awk '/^Name:/ {n=1} n && /^Address/ {print $NF}' | sort -u; }

ids() { "${B[@]}" ps -a -q </dev/null | sort; }

before=$(ids) || fail "berth ps -a -q failed"
[ "$(echo "$before" | grep -c .)" -eq 3 ] || fail "want 3 containers (the workers) without --profile, got: $before"
services=$("${B[@]}" ps -a --services </dev/null) || fail "berth ps --services failed"
! grep -qx debug <<<"$services" || fail "debug runs without --profile debug"
grep -qx worker <<<"$services" || fail "worker missing from ps --services: $services"
ok "3 worker replicas, no debug"

ips=$("${B[@]}" exec -T worker nslookup -type=a worker </dev/null | addresses) \
  || fail "berth exec worker nslookup worker failed"
[ "$(echo "$ips" | grep -c .)" -eq 3 ] || fail "worker resolves to \"$ips\", want 3 addresses"
ok "worker resolves to $(tr "\n" " " <<<"$ips")"

out=$("${B[@]}" run --rm task </dev/null | tr -d '\r') || fail "berth run --rm task failed"
answered=$(grep -cE '^[0-9.]+: [^ ]+$' <<<"$out" || true)
[ "$answered" -eq 3 ] || fail "run --rm task: want 3 replicas answering, got:
$out"
[ "$(awk '{print $2}' <<<"$out" | sort -u | grep -c .)" -eq 3 ] || fail "replicas are not distinct:
$out"
ok "run --rm task reached 3 distinct replicas"
[ "$(ids)" = "$before" ] || fail "containers changed after run --rm: $(ids | tr '\n' ' ')"
ok "the one-off container is gone"

"${B[@]}" --profile debug up -d --wait debug </dev/null
dips=$("${B[@]}" --profile debug exec -T debug nslookup -type=a worker </dev/null | addresses) \
  || fail "berth exec debug nslookup worker failed"
[ "$dips" = "$ips" ] || fail "debug sees workers at \"$dips\", want \"$ips\""
after=$("${B[@]}" --profile debug ps -a -q </dev/null | sort) || fail "berth ps failed"
[ "$(echo "$after" | grep -c .)" -eq 4 ] || fail "want 4 containers with debug up, got: $after"
[ "$(comm -23 <(echo "$before") <(echo "$after"))" = "" ] || fail "up debug recreated workers"
ok "--profile debug starts debug only; the workers were kept"

"${B[@]}" --profile debug stop debug </dev/null
"${B[@]}" --profile debug rm -f debug </dev/null
[ "$(ids)" = "$before" ] || fail "debug still there after stop + rm"
ok "debug stopped and removed"
