#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:5000 (HOST and PORT change it) with embedded SQLite, demo data on first run and
# the scheduler inside.
set -euo pipefail
cd "$(dirname "$0")/.."
# The database holds ID numbers and password hashes, the notices names and addresses: readable by this user only.
umask 077
INSTANCE="${INSTANCE_DIR:-instance}"
mkdir -p "$INSTANCE"
if [[ -z "${SECRET_KEY:-}" ]]; then
  # A random key kept with the instance's data (never in the repository).
  [[ -s "$INSTANCE/secret_key" ]] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > "$INSTANCE/secret_key"
  chmod 600 "$INSTANCE/secret_key"
  SECRET_KEY="$(cat "$INSTANCE/secret_key")"
  export SECRET_KEY
fi
HOST="${HOST:-127.0.0.1}" PORT="${PORT:-5000}"
# The notices' QR codes point at this server unless a public address is given.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://${HOST}:${PORT}}"
export APP_ENV="${APP_ENV:-development}" SCHEDULER="${SCHEDULER:-on}" FLASK_APP=wsgi
SCHEDULER=off .venv/bin/flask db upgrade
SCHEDULER=off .venv/bin/flask seed-demo --if-empty
exec .venv/bin/flask run --host "$HOST" --port "$PORT" --no-reload
