#!/usr/bin/env bash
# Refresh the vendored front-end files (the offices have no internet, so nothing is loaded from a CDN).
# Usage: scripts/vendor-frontend.sh [bpmn-js version]   (default: the pinned version below)
# Needs Node/npm and the npm registry; the copied files are committed under web/static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
BPMN_JS_VERSION="${1:-${BPMN_JS_VERSION:-18.31.1}}"
DEST=web/static/vendor/bpmn-js
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm pack --silent "bpmn-js@${BPMN_JS_VERSION}" >/dev/null && tar -xzf bpmn-js-*.tgz)
PKG="$TMP/package"
test -f "$PKG/dist/bpmn-viewer.production.min.js" || { echo "bpmn-viewer bundle missing in bpmn-js@${BPMN_JS_VERSION}" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/assets"
cp "$PKG/dist/bpmn-viewer.production.min.js" "$DEST/"
cp "$PKG"/dist/assets/*.css "$DEST/assets/"
# bpmn-font is only needed by the modeler's palette; the viewer draws with SVG.
cp "$PKG/LICENSE" "$DEST/LICENSE"
printf 'bpmn-js %s from the npm registry (npm pack), vendored by scripts/vendor-frontend.sh on %s\n' \
  "$BPMN_JS_VERSION" "$(date -u +%Y-%m-%d)" > "$DEST/VERSION"
echo "vendored bpmn-js ${BPMN_JS_VERSION} into ${DEST}:"
ls -la "$DEST" "$DEST/assets"
