#!/usr/bin/env bash
# Sets everything up and serves Relay on $RELAY_ADDR (default 127.0.0.1:8000; SQLite in db.sqlite3 unless
# DATABASE_URL is set). Each step says what it does; seed_data ends with the database, the links and the logins.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
export DEBUG="${DEBUG:-1}"
addr="${RELAY_ADDR:-127.0.0.1:8000}"
echo "==> Applying migrations ..."
.venv/bin/python manage.py migrate --noinput
echo "==> Writing the demo data ..."
.venv/bin/python manage.py seed_data --addr "$addr"
echo "==> Serving on $addr (Ctrl-C stops) ..."
exec .venv/bin/python manage.py runserver "$addr"
