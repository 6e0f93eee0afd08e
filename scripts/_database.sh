# Sourced by the scripts: with no DATABASE_URL, start the embedded PostgreSQL (config/embedded_db.py) with its
# data in $RELAY_EMBEDDED_PGDATA, export its DATABASE_URL, and stop it when the script exits.
# Arguments go to `python -m config.embedded_db start` (scripts/test.sh passes --for-tests).
if [ -z "${DATABASE_URL:-}" ]; then
  export RELAY_EMBEDDED_PGDATA="${RELAY_EMBEDDED_PGDATA:-$PWD/.relay/postgres}"
  echo "==> Starting the embedded PostgreSQL (data in ${RELAY_EMBEDDED_PGDATA#"$PWD/"}) ..."
  DATABASE_URL="$(.venv/bin/python -m config.embedded_db start "$@")"
  export DATABASE_URL
  trap '.venv/bin/python -m config.embedded_db stop >/dev/null' EXIT
fi
