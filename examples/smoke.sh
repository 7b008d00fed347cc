#!/usr/bin/env bash
# Smoke-tests one example project end to end, the way the e2e tests do:
#   up -d --wait -> probe -> down -> up -d --wait -> probe -> down -v -> no leaks
# (the second round shows that named volumes survive `down`). "No leaks" means:
# no container of the project (`ps -a -q`), none of its volumes or networks,
# its bridge and the veths that were attached to it gone from `ip -o link`
# (only the project's own links are checked, so parallel tests do not
# interfere), no new mount under the data or run root.
#
# Usage: examples/smoke.sh EXAMPLE [BERTH_CMD...]
#   EXAMPLE    a folder under examples/ (app, profiles, hello)
#   BERTH_CMD  berth and its global flags (default: bin/berth of this repo),
#              e.g. examples/smoke.sh app bin/berth --root /tmp/ex-1 -p app1
# Env: SMOKE_TIMEOUT seconds for each `up --wait` (default 120); BERTH_ROOT.
# The images must exist: examples/images.sh BERTH_CMD...
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: examples/smoke.sh EXAMPLE [BERTH_CMD...]" >&2; exit 2; }
example=$1; shift
dir=$repo/examples/$example
[ -f "$dir/compose.yaml" ] || { echo "smoke: no $dir/compose.yaml" >&2; exit 2; }
[ $# -gt 0 ] || set -- "$repo/bin/berth"
B=("$@")
TIMEOUT=${SMOKE_TIMEOUT:-120}

say() { printf 'smoke %s: %s\n' "$example" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# Project name and roots, as berth will see them.
project=${COMPOSE_PROJECT_NAME:-}
root=${BERTH_ROOT:-}
# O is B without the project flags, for the object commands (network, volume).
O=("${B[0]}")
for ((i = 1; i < ${#B[@]}; i++)); do
  case ${B[i]} in
    -p | --project-name) project=${B[i + 1]}; i=$((i + 1)) ;;
    --project-name=* | -p?*) project=${B[i]#--project-name=}; project=${project#-p} ;;
    -f | --file | --profile | --project-directory | --env-file) i=$((i + 1)) ;;
    --file=* | --profile=* | --project-directory=* | --env-file=*) ;;
    --root) root=${B[i + 1]}; O+=("${B[i]}" "${B[i + 1]}"); i=$((i + 1)) ;;
    --root=*) root=${B[i]#*=}; O+=("${B[i]}") ;;
    *) O+=("${B[i]}") ;;
  esac
done
[ -n "$project" ] || project=$(awk '/^name:/ {print $2; exit}' "$dir/compose.yaml")
[ -n "$project" ] || project=$(basename "$dir")
if [ -n "$root" ]; then roots=("$root"); else roots=(/var/lib/berth /run/berth); fi

# mounts_under: mount points below the roots, one a line.
mounts_under() {
  local r
  for r in "${roots[@]}"; do awk -v r="$r" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo; done | sort -u
}
# bridge_links BRIDGE: the bridge and the links attached to it.
bridge_links() {
  echo "$1"
  ip -o link show master "$1" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1
}

cd "$dir"
mounts_before=$(mounts_under)
state=$(mktemp); links=""
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    say "diagnostics after failure:"
    "${B[@]}" ps -a </dev/null >&2 || true
    "${B[@]}" logs --tail 30 </dev/null >&2 || true
    "${B[@]}" down -v --remove-orphans -t 2 </dev/null >&2 || true
  fi
  rm -f "$state"
  exit $rc
}
trap cleanup EXIT

probe() {
  if [ -x "$dir/probe.sh" ]; then
    PROBE_STATE=$state "$dir/probe.sh" "${B[@]}"
  elif [ "$example" = hello ]; then # hello ships without a probe script
    local out
    out=$(timeout 5 busybox wget -qO- http://127.0.0.1:18080/) || fail "GET 127.0.0.1:18080 failed"
    [ "$out" = "hello from berth" ] || fail "hello answered \"$out\""
    "${B[@]}" exec -T client timeout 3 wget -qO- http://www:8080/ </dev/null | grep -q 'hello from berth' \
      || fail "client cannot reach web by its alias"
  else
    fail "no $dir/probe.sh"
  fi
}

for round in 1 2; do
  say "round $round: up -d --wait"
  timeout $((TIMEOUT + 30)) "${B[@]}" up -d --wait --wait-timeout "$TIMEOUT" </dev/null \
    || fail "up -d --wait did not converge within ${TIMEOUT}s"
  # Docker's shape: the bridge is an option of the network (else br-<id>).
  info=$("${O[@]}" network inspect "${project}_default" </dev/null) \
    || fail "network inspect ${project}_default failed"
  bridge=$(grep -o '"com.docker.network.bridge.name": *"[^"]*"' <<<"$info" | cut -d'"' -f4 || true)
  [ -n "$bridge" ] || bridge=br-$(grep -o '"Id": *"[0-9a-f]\{12\}' <<<"$info" | head -1 | cut -d'"' -f4)
  links+=$(bridge_links "$bridge")$'\n'
  say "round $round: probe"
  probe
  if [ $round = 1 ]; then
    say "round 1: down (volumes stay)"
    "${B[@]}" down </dev/null || fail "down failed"
  fi
done
say "down -v"
"${B[@]}" down -v --remove-orphans </dev/null || fail "down -v failed"

left=$("${B[@]}" ps -a -q </dev/null) || fail "ps -a -q failed"
[ -z "$left" ] || fail "containers left after down -v: $left"
vols=$("${O[@]}" volume ls -q </dev/null | grep "^${project}_" || true)
[ -z "$vols" ] || fail "volumes left after down -v: $vols"
nets=$("${O[@]}" network ls --format '{{.Name}}' </dev/null | grep "^${project}_" || true)
[ -z "$nets" ] || fail "networks left after down -v: $nets"
checked=$(sort -u <<<"$links" | grep . || true)
[ -n "$checked" ] || fail "found no bridge for ${project}_default while it was up"
for l in $checked; do
  ! ip link show "$l" >/dev/null 2>&1 || fail "link $l (bridge of ${project}_default or a veth on it) left after down"
done
new_mounts=$(comm -13 <(echo "$mounts_before") <(mounts_under) | grep . || true)
[ -z "$new_mounts" ] || fail "mounts left after down: $new_mounts"
say "ok: up, probe, down, up, probe, down -v; nothing left (links checked: $(tr "\n" " " <<<"$checked"))"
