#!/usr/bin/env bash
# Builds a busybox root filesystem tarball from Debian's busybox-static and
# imports it into berth as "busybox:latest" (no registry needed).
# Usage: examples/mkbusybox.sh [berth binary] [extra berth flags...]
set -euo pipefail
BERTH=${1:-bin/berth}; shift || true
BB=/bin/busybox
[ -x "$BB" ] || { echo "mkbusybox: $BB missing: apt-get install busybox-static" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/user,tmp,proc,sys,dev,var/www,run}
chmod 1777 "$root/tmp"
cp "$BB" "$root/bin/busybox"
for applet in $("$BB" --list-full); do
  [ "$(basename "$applet")" = busybox ] && continue
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
user:x:1000:
G
tar -C "$root" -cf "$work/busybox.tar" .
"$BERTH" "$@" image import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest
