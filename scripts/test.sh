#!/usr/bin/env bash
# Runs the whole test suite on PostgreSQL: a throwaway embedded server in .relay/postgres-test, or the server
# DATABASE_URL names (pytest-django creates and drops a test_ database there). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt
source scripts/_venv.sh
source scripts/_clients.sh
RELAY_EMBEDDED_PGDATA="${RELAY_EMBEDDED_PGDATA:-$PWD/.relay/postgres-test}"
source scripts/_database.sh --for-tests
.venv/bin/python -m pytest "$@"
