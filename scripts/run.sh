#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:5000 with embedded SQLite, demo data on first run and the scheduler inside.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p instance
if [[ -z "${SECRET_KEY:-}" ]]; then
  # A random key kept under instance/ (never in the repository).
  [[ -s instance/secret_key ]] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > instance/secret_key
  chmod 600 instance/secret_key
  SECRET_KEY="$(cat instance/secret_key)"
  export SECRET_KEY
fi
export APP_ENV="${APP_ENV:-development}" SCHEDULER="${SCHEDULER:-on}" FLASK_APP=wsgi
SCHEDULER=off .venv/bin/flask db upgrade
SCHEDULER=off .venv/bin/flask seed-demo --if-empty
exec .venv/bin/flask run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}" --no-reload
