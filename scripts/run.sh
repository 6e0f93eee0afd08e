#!/usr/bin/env bash
# Sets everything up and serves Relay on http://127.0.0.1:8000 (SQLite in db.sqlite3 unless DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
export DEBUG="${DEBUG:-1}"
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_data
exec .venv/bin/python manage.py runserver "${RELAY_ADDR:-127.0.0.1:8000}"
