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
