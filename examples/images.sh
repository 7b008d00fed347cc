#!/usr/bin/env bash
# Makes every image the examples use, offline, and imports them into berth:
#   busybox:latest    from Debian's busybox-static (examples/mkbusybox.sh)
#   app-redis:latest  a Debian bookworm rootfs made with debootstrap, plus redis-server
#   app-web:latest    the static Go binary of examples/app/web and an /etc/passwd
#
# Usage: examples/images.sh [berth-binary] [berth global flags...]
#   e.g. examples/images.sh bin/berth --root /tmp/ex-1
# The berth binary defaults to bin/berth; BERTH_ROOT is honoured by berth itself.
#
# Root filesystems are cached under $BERTH_EXAMPLES_CACHE (default
# /var/cache/berth-examples) and reused; delete that folder to rebuild them.
# An image whose tarball has not changed since it was imported is skipped.
# IMAGES_NO_IMPORT=1 only makes the cached tarballs.
set -euo pipefail
cd "$(dirname "$0")/.."


BERTH=bin/berth
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then BERTH=$1; shift; fi
BERTH_FLAGS=("$@")
CACHE=${BERTH_EXAMPLES_CACHE:-/var/cache/berth-examples}
SUITE=bookworm
HASH_LABEL=org.berth.examples.tarball

log() { printf 'images: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
berth() { "$BERTH" "${BERTH_FLAGS[@]}" "$@"; }

# debian_mirror prints the first Debian mirror configured for apt on this
# host (deb822 sources or sources.list), or Debian's default.
debian_mirror() {
  local m=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# reproducible_tar DIR OUT: a tar of DIR whose bytes depend only on the
# files' contents, modes and ownership (so its hash says "changed or not").
reproducible_tar() {
  tar -C "$1" --sort=name --mtime=@0 --numeric-owner --pax-option=delete=atime,delete=ctime \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$2.tmp" .
  mv -f "$2.tmp" "$2"
}

# redis_tar: debootstrap a minimal bookworm with redis-server, once.
redis_tar() {
  local out=$CACHE/app-redis.tar
  if [ -s "$out" ]; then log "app-redis rootfs: cached ($out)"; return; fi
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get install -y debootstrap >&2 || die "cannot install debootstrap: apt-get install debootstrap"
  fi
  local mirror dir
  mirror=$(debian_mirror)
  dir=$CACHE/app-redis.rootfs
  rm -rf "$dir"; mkdir -p "$dir" "$CACHE/debs"
  log "debootstrap $SUITE from $mirror (takes a few minutes, cached afterwards)"
  debootstrap --variant=minbase --include=redis-server --cache-dir="$CACHE/debs" \
    "$SUITE" "$dir" "$mirror" >&2 || die "debootstrap failed; see $dir/debootstrap/debootstrap.log"
  # Slim it down: package lists, downloaded .debs, docs and logs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* "$dir"/var/log/*.log \
    "$dir"/var/log/apt/* "$dir"/var/cache/debconf/*-old
  mkdir -p "$dir/data"
  : > "$dir/etc/resolv.conf"; : > "$dir/etc/hostname"
  "$dir/usr/bin/redis-server" --version >/dev/null 2>&1 || chroot "$dir" redis-server --version >/dev/null \
    || die "redis-server missing in $dir"
  reproducible_tar "$dir" "$out"
  rm -rf "$dir"
  log "app-redis rootfs: $out ($(du -h "$out" | cut -f1))"
}

# web_tar: the static web binary plus /etc/passwd and /etc/group.
web_tar() {
  local out=$CACHE/app-web.tar dir=$CACHE/app-web.rootfs
  rm -rf "$dir"; mkdir -p "$dir/etc" "$dir/tmp"
  chmod 1777 "$dir/tmp"
  log "go build examples/app/web"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/web" ./examples/app/web \
    || die "go build ./examples/app/web failed"
  printf 'root:x:0:0:root:/:/web\nnobody:x:65534:65534:nobody:/nonexistent:/web\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
  chown -R 0:0 "$dir"
  reproducible_tar "$dir" "$out"
  rm -rf "$dir"
}

# import_tar TAR REF CHANGE...: import unless REF already came from this tarball.
import_tar() {
  local tar=$1 ref=$2; shift 2
  local sum have
  sum=$(sha256sum "$tar" | cut -d' ' -f1)
  have=$(berth image inspect --format "{{index .Config.Labels \"$HASH_LABEL\"}}" "$ref" 2>/dev/null || true)
  if [ "$have" = "$sum" ]; then log "$ref: up to date"; return; fi
  local args=()
  for c in "$@" "LABEL $HASH_LABEL=$sum"; do args+=(--change "$c"); done
  log "importing $ref"
  berth image import "${args[@]}" "$tar" "$ref" >/dev/null
}

mkdir -p "$CACHE"
# One maker at a time: parallel test runs share the cache.
exec 9>"$CACHE/.lock"
flock 9
redis_tar
web_tar
flock -u 9
[ "${IMAGES_NO_IMPORT:-}" = 1 ] && { log "tarballs in $CACHE (IMAGES_NO_IMPORT=1: not imported)"; exit 0; }

[ -x "$BERTH" ] || command -v "$BERTH" >/dev/null || die "berth binary $BERTH not found: make build"
if berth image inspect busybox:latest >/dev/null 2>&1; then
  log "busybox:latest: present"
else
  log "importing busybox:latest"
  examples/mkbusybox.sh "$BERTH" "${BERTH_FLAGS[@]}" >/dev/null
fi
import_tar "$CACHE/app-redis.tar" app-redis:latest \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'EXPOSE 6379' \
  'WORKDIR /data' \
  'CMD ["redis-server","--protected-mode","no","--appendonly","yes","--dir","/data"]'
import_tar "$CACHE/app-web.tar" app-web:latest \
  'EXPOSE 8080' \
  'USER 65534:65534' \
  'ENV REDIS_ADDR=redis:6379' \
  'ENTRYPOINT ["/web"]'
log "done: busybox:latest app-redis:latest app-web:latest"
