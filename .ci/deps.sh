#!/usr/bin/env bash
# Installs what building and testing berth needs (Debian, as root). Cheap
# when everything is there already: it checks before it calls apt-get.
set -euo pipefail
pkgs=(busybox-static libseccomp-dev runc iptables nftables iproute2 procps dnsperf debootstrap)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${missing[*]}: run as root or apt-get install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export PATH="$PATH:$(go env GOPATH)/bin"
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@latest
