#!/usr/bin/env bash
# Runs the whole test suite (SQLite by default; PostgreSQL when DATABASE_URL is set). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
source scripts/_clients.sh
exec .venv/bin/python -m pytest "$@"
