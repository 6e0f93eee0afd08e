# Sourced by the scripts: with no DATABASE_URL, start the embedded PostgreSQL (config/embedded_db.py) with its
# data in $RELAY_EMBEDDED_PGDATA, export its DATABASE_URL, and stop it when the script exits if this script
# started it (a server another script started and still uses keeps running).
# Arguments go to `python -m config.embedded_db start` (scripts/test.sh passes --for-tests).
if [ -z "${DATABASE_URL:-}" ]; then
  export RELAY_EMBEDDED_PGDATA="${RELAY_EMBEDDED_PGDATA:-$PWD/.relay/postgres}"
  if ! .venv/bin/python -m config.embedded_db running; then
    # Set before the start, so that a Ctrl-C during the first initdb stops what it began too.
    trap '.venv/bin/python -m config.embedded_db stop >/dev/null' EXIT
  fi
  echo "==> Starting the embedded PostgreSQL (data in ${RELAY_EMBEDDED_PGDATA#"$PWD/"}) ..."
  DATABASE_URL="$(.venv/bin/python -m config.embedded_db start "$@")"
  export DATABASE_URL
fi
