#!/usr/bin/env bash
# RSS of a running container's monitor process. Target (issue 2): < 8 MB.
set -euo pipefail
cd "$(dirname "$0")"; . ./lib.sh
N=${N:-10}
root=$(bench_root)
trap 'cleanup_root "$root"' EXIT
for i in $(seq 1 "$N"); do "$BERTH" --root "$root" container run -d --name "m$i" busybox sleep 300 >/dev/null; done
sleep 1
# RSS counts the binary's pages each monitor has mapped, which all monitors
# share (and which vary with the page cache); PSS divides shared pages among
# their users and anon is the monitor's own memory: the per-container cost.
rss=(); pss=(); anon=(); exe=
for pid in $(pgrep -f -- "--root $root __monitor" || true); do
  rss+=($(awk '/VmRSS/ {print $2}' /proc/$pid/status))
  anon+=($(awk '/RssAnon/ {print $2}' /proc/$pid/status))
  pss+=($(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup))
  exe=$(basename "$(readlink /proc/$pid/exe)")
done
[ ${#rss[@]} -gt 0 ] || { echo "monitor RSS: no monitor processes found" >&2; exit 1; }
m=$(printf '%s\n' "${rss[@]}" | median)
printf 'monitor RSS over %d monitors (%s): median %s kB (target < 8192 kB); PSS %s kB, anon %s kB\n' \
  "${#rss[@]}" "$exe" "$m" "$(printf '%s\n' "${pss[@]}" | median)" "$(printf '%s\n' "${anon[@]}" | median)"
