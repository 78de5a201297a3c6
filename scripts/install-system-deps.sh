#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing:
# Pango/HarfBuzz for WeasyPrint (libharfbuzz-subset0 keeps CJK font subsetting fast),
# Noto CJK fonts for Chinese notices, the PostgreSQL client, and Chromium for browser tests.
# Usage: scripts/install-system-deps.sh [--with-browser]
set -euo pipefail

pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-noto-cjk fontconfig poppler-utils postgresql-client)
if [[ "${1:-}" == "--with-browser" ]]; then
  pkgs+=(chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  # Browser is optional (e2e tests skip without it); the rest are required.
  [[ "${missing[*]}" == "chromium" ]] && exit 0
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
