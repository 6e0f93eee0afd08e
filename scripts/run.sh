#!/usr/bin/env bash
# Sets everything up and serves Relay on $RELAY_ADDR (default 127.0.0.1:8000): the runtime requirements, an
# embedded PostgreSQL in .relay/postgres unless DATABASE_URL names a server, the migrations, the demo data.
# Each step says what it does; seed_data ends with the database, the links and the logins. Ctrl-C stops the
# server and the embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
source scripts/_database.sh
export DEBUG="${DEBUG:-1}"
addr="${RELAY_ADDR:-127.0.0.1:8000}"
echo "==> Applying migrations ..."
.venv/bin/python manage.py migrate --noinput
echo "==> Writing the demo data ..."
.venv/bin/python manage.py seed_data --addr "$addr"
echo "==> Serving on $addr (Ctrl-C stops) ..."
# Not exec: the shell stays to stop the embedded PostgreSQL when the server ends.
.venv/bin/python manage.py runserver "$addr"
