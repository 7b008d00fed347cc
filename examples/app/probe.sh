#!/usr/bin/env bash
# Probes a running examples/app project (after `berth up -d --wait`):
#   - GET http://127.0.0.1:$APP_WEB_PORT/ a few times: "hits: N", N rising by one;
#   - `berth exec redis redis-cli get hits` agrees with the last answer;
#   - web logged one line per request.
# Usage: examples/app/probe.sh [BERTH_CMD...]   (default: bin/berth of this repo)
#   e.g. examples/app/probe.sh /usr/local/bin/berth --root /tmp/ex-1 -p app1
# PROBE_STATE=FILE keeps the last count between runs: a second run (after
# `berth down` and `berth up` without -v) checks that the counter went on
# counting from where it was, i.e. the volume kept Redis's data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
[ $# -gt 0 ] || set -- "$here/../../bin/berth"
B=("$@")
PORT=${APP_WEB_PORT:-18081}
URL=http://127.0.0.1:$PORT/

fail() { echo "app probe: FAIL: $*" >&2; exit 1; }
ok() { echo "app probe: ok: $*" >&2; }

# http_get URL: prints the body; fails unless the status is 200.
http_get() {
  if command -v curl >/dev/null; then
    local out
    out=$(curl -sS --max-time 5 -w '\n%{http_code}' "$1") || return 1
    printf '%s\n' "${out%$'\n'*}"
    [ "${out##*$'\n'}" = 200 ]
  else
    timeout 5 busybox wget -qO- "$1"
  fi
}

# hits prints N from one "hits: N" answer.
hits() {
  local body
  body=$(http_get "$URL") || fail "GET $URL failed: $body"
  [[ $body =~ ^hits:\ ([0-9]+)$ ]] || fail "GET $URL answered \"$body\", want \"hits: N\""
  echo "${BASH_REMATCH[1]}"
}

prev=""
if [ -n "${PROBE_STATE:-}" ] && [ -s "$PROBE_STATE" ]; then prev=$(cat "$PROBE_STATE"); fi

first=$(hits)
if [ -n "$prev" ]; then
  [ "$first" -gt "$prev" ] || fail "counter restarted: $first after $prev (was the volume lost?)"
  ok "counter kept counting across down/up ($prev -> $first)"
fi
last=$first
for _ in 1 2 3 4; do
  n=$(hits)
  [ "$n" -eq $((last + 1)) ] || fail "counter went $last -> $n, want $((last + 1))"
  last=$n
done
ok "GET / counts: $first .. $last"

stored=$("${B[@]}" exec -T redis redis-cli get hits </dev/null | tr -d '\r') \
  || fail "berth exec redis redis-cli get hits failed"
[ "$stored" = "$last" ] || fail "redis says hits=\"$stored\", web said $last"
ok "redis-cli get hits = $stored"

logged=$("${B[@]}" logs --no-log-prefix web </dev/null 2>&1 | grep -c 'GET / 200' || true)
[ "$logged" -ge 5 ] || fail "web logged $logged \"GET / 200\" lines, want at least 5"
ok "web logged $logged requests"

if [ -n "${PROBE_STATE:-}" ]; then echo "$last" > "$PROBE_STATE"; fi
