# Shared by the bench scripts.
BERTH=${BERTH_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/berth}
ms_now() { date +%s%N; }
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# bench_root: a fresh berth root with the busybox image imported; echo its path.
bench_root() {
  local r; r=$(mktemp -d /tmp/bb-XXXX)
  "$(dirname "${BASH_SOURCE[0]}")/../examples/mkbusybox.sh" "$BERTH" --root "$r" >/dev/null
  echo "$r"
}

# cleanup_root R: remove everything berth made under R — containers, every
# network (so its bridge and iptables rules go too; deleting R alone would
# strand them on the host), volumes — and then R itself.
cleanup_root() {
  local r=$1 ids n
  ids=$("$BERTH" --root "$r" container ps -aq 2>/dev/null || true)
  [ -z "$ids" ] || "$BERTH" --root "$r" container rm -f -v $ids >/dev/null 2>&1 || true
  for n in $("$BERTH" --root "$r" network ls -q 2>/dev/null || true); do
    "$BERTH" --root "$r" network rm "$n" >/dev/null 2>&1 || true
  done
  "$BERTH" --root "$r" volume prune -a -f >/dev/null 2>&1 || true
  rm -rf "$r"
}
