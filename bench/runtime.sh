#!/usr/bin/env bash
# `berth container run --rm busybox true` against `runc run` of the same
# rootfs: median of N runs each, interleaved so machine noise hits both.
# runc's default spec has no seccomp filter and berth applies Docker's
# default profile, so runc is timed twice: as `runc spec` makes it, and with
# the profile berth uses added to its config.json (bench/runtime/seccompspec).
# Target (issue 2): berth <= 1.5x runc.
set -euo pipefail
cd "$(dirname "$0")"; . ./lib.sh
N=${N:-20}
command -v runc >/dev/null || { echo "runtime bench: runc missing (apt-get install runc)" >&2; exit 1; }
root=$(bench_root)
bundle=$(mktemp -d /tmp/rb-XXXX)
trap 'cleanup_root "$root"; rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs" "$bundle/sc"
"$BERTH" --root "$root" image save busybox | tar -xO --wildcards '*.tar' 2>/dev/null | tar -x -C "$bundle/rootfs" 2>/dev/null || true
[ -x "$bundle/rootfs/bin/busybox" ] || { cp /bin/busybox "$bundle/rootfs/bin/" 2>/dev/null || { mkdir -p "$bundle/rootfs/bin"; cp /bin/busybox "$bundle/rootfs/bin/"; }; ln -sf busybox "$bundle/rootfs/bin/true"; }
(cd "$bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
sed "s#\"path\": \"rootfs\"#\"path\": \"$bundle/rootfs\"#" "$bundle/config.json" > "$bundle/sc/config.json"
(cd .. && go run ./bench/runtime/seccompspec "$bundle/sc/config.json")
b=(); r=(); s=()
"$BERTH" --root "$root" container run --rm busybox true  # warm caches
for i in $(seq 1 "$N"); do
  t0=$(ms_now); "$BERTH" --root "$root" container run --rm busybox true; t1=$(ms_now)
  runc run --bundle "$bundle" "rb$$-$i" >/dev/null; t2=$(ms_now)
  runc run --bundle "$bundle/sc" "rs$$-$i" >/dev/null; t3=$(ms_now)
  b+=($(( (t1-t0)/1000 ))); r+=($(( (t2-t1)/1000 ))); s+=($(( (t3-t2)/1000 )))
done
mb=$(printf '%s\n' "${b[@]}" | median); mr=$(printf '%s\n' "${r[@]}" | median); ms=$(printf '%s\n' "${s[@]}" | median)
printf 'run --rm busybox true: berth median %.1f ms, runc median %.1f ms, ratio %.2f (target <= 1.5)\n' \
  "$(echo "$mb/1000" | bc -l)" "$(echo "$mr/1000" | bc -l)" "$(echo "$mb/$mr" | bc -l)"
printf '  same seccomp profile: runc median %.1f ms, ratio %.2f; load average %s\n' \
  "$(echo "$ms/1000" | bc -l)" "$(echo "$mb/$ms" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${b[@]}" > out/runtime-berth-us.txt; printf '%s\n' "${r[@]}" > out/runtime-runc-us.txt
printf '%s\n' "${s[@]}" > out/runtime-runc-seccomp-us.txt
