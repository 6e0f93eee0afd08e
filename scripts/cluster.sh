#!/usr/bin/env bash
# Relay on several "machines", all on this host and 127.0.0.1 only (docs/operations.md, "Several machines: the
# cluster on one host"):
#   scripts/cluster.sh up       build and start everything, wait until it answers, print the proxy's address
#   scripts/cluster.sh status   one JSON object: every node's role, port, pid, whether it runs; the replica's lag
#   scripts/cluster.sh down     stop everything it started (data kept: `up` again is quick)
#   scripts/cluster.sh chaos    a bounded run of five faults under load (scripts/cluster/chaos.py)
#   scripts/cluster.sh clean    down, then delete .relay/cluster/
# The engines are Debian's: etcd, Patroni and PostgreSQL 15 (a primary and a synchronous replica), HAProxy,
# PgBouncer and Redis; the app nodes are gunicorn and uvicorn as in production. Needs root, to install what
# is missing with apt-get and to start each process as an account of its own: the PostgreSQL side (Patroni,
# PostgreSQL, PgBouncer) as `postgres`; etcd, HAProxy, Redis and the app and stream nodes as `relay-cluster`,
# a system account without login that `up` creates when it is missing. Nothing runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
STATE="$ROOT/.relay/cluster"
RUN="$STATE/run"   # a pid file per process it started
LOGS="$STATE/log"
TEMPLATES="$ROOT/scripts/cluster"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PY="$ROOT/.venv/bin/python"
ACCOUNT=relay-cluster  # etcd, HAProxy, Redis, the app and stream nodes
AS_ACCOUNT=(setpriv --reuid="$ACCOUNT" --regid="$ACCOUNT" --init-groups)

say() { printf '==> %s\n' "$*"; }

# --- the packages ---------------------------------------------------------------------------------------------

ensure_packages() {
  local missing=()
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  command -v envsubst >/dev/null 2>&1 || missing+=(gettext-base)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  command -v useradd >/dev/null 2>&1 || missing+=(passwd)
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing ${missing[*]} (apt-get) ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian packages may have started their own services (pgbouncer on 6432, redis on 6379): the cluster
  # uses ports of its own and leaves them alone.
}

# The account etcd, HAProxy, Redis and the app nodes run as: a system account, no login shell, no home.
ensure_account() {
  if ! id -u "$ACCOUNT" >/dev/null 2>&1; then
    say "Creating the system account $ACCOUNT (no login, no home) ..."
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ACCOUNT"
  fi
}

# own DIR...: DIR (made if missing) and everything in it belongs to the account, for a process of it to write.
own() {
  local dir
  for dir in "$@"; do
    install -d -o "$ACCOUNT" -g "$ACCOUNT" -m 0750 "$dir"
    chown -R "$ACCOUNT:$ACCOUNT" "$dir"
  done
}

# --- processes ------------------------------------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# The ports each process listens on: one that is taken by something else stops `up` before it starts.
declare -A LISTENS=([etcd]="22379 22380" [patroni-pg1]="25432 28008" [patroni-pg2]="25433 28009"
  [haproxy]="28080 25000 25001 28404" [pgbouncer]=26432 [redis]=26379 [app1]=28001 [app2]=28002
  [stream1]=28101 [stream2]=28102)
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME USER COMMAND...: in a session of its own (its pid is its process group: `chaos` kills the group,
# as a machine dying would), output to log/NAME.log (opened here: the process needs no right to the folder).
# USER is postgres or the account.
start() {
  local name="$1" user="$2"
  shift 2
  if running "$name"; then return 0; fi
  for port in ${LISTENS[$name]:-}; do
    if port_taken "$port"; then
      echo "cluster: port $port, $name's, is taken by another process (another checkout's cluster?):" >&2
      ss -ltnp "sport = :$port" >&2 || true
      exit 1
    fi
  done
  local -a as
  case "$user" in
    postgres) as=(env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups) ;;
    "$ACCOUNT") as=(env HOME=/nonexistent "${AS_ACCOUNT[@]}") ;;
    *)
      echo "cluster: $name would run as $user: only postgres or $ACCOUNT" >&2
      exit 1
      ;;
  esac
  setsid "${as[@]}" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL to its whole group if it is still there after SECONDS (10).
stop() {
  local name="$1" wait="${2:-10}" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((wait * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

# wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  for _ in $(seq 1 $((seconds * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "cluster: $what did not answer within ${seconds}s (logs in ${LOGS#"$ROOT/"}/); the newest log ends:" >&2
  # shellcheck disable=SC2012
  tail -n 5 "$(ls -t "$LOGS"/*.log | head -n 1)" >&2 || true
  return 1
}

http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

# render TEMPLATE OUTPUT VAR=VALUE...: ${VAR} in the template replaced (only the variables named).
render() (
  template="$1" output="$2"
  shift 2
  names=""
  for pair in "$@"; do
    export "${pair?}"
    names+=" \${${pair%%=*}}"
  done
  envsubst "$names" <"$template" >"$output"
)

# --- the parts ------------------------------------------------------------------------------------------------

PATRONI_NODES=(pg1 pg2)
declare -A PG_PORTS=([pg1]=25432 [pg2]=25433)
declare -A REST_PORTS=([pg1]=28008 [pg2]=28009)

start_etcd() {
  own "$STATE/etcd"
  start etcd "$ACCOUNT" etcd --name relay-etcd --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:22379 --advertise-client-urls http://127.0.0.1:22379 \
    --listen-peer-urls http://127.0.0.1:22380 --initial-advertise-peer-urls http://127.0.0.1:22380 \
    --initial-cluster relay-etcd=http://127.0.0.1:22380 --initial-cluster-state new
  wait_for etcd 30 http_ok http://127.0.0.1:22379/health
}

start_patroni() {
  local node
  # The data folders belong to postgres, which must also be able to reach them: every folder above the
  # checkout must be searchable by others (the checkout under /work or /tmp is).
  install -d -o postgres -g postgres -m 0700 "$STATE/postgres"
  install -d -o postgres -g postgres -m 0750 "$LOGS/patroni"
  if ! setpriv --reuid=postgres --regid=postgres --init-groups test -w "$STATE/postgres"; then
    echo "cluster: the postgres user cannot reach $STATE/postgres: a folder above the checkout is not" \
      "searchable by others (chmod o+x it, or clone the project under /work, /srv or /tmp)" >&2
    exit 1
  fi
  for node in "${PATRONI_NODES[@]}"; do
    render "$TEMPLATES/patroni.yml.tmpl" "$STATE/patroni-$node.yml" NAME="$node" \
      REST_PORT="${REST_PORTS[$node]}" PG_PORT="${PG_PORTS[$node]}" DATA_DIR="$STATE/postgres/$node" \
      PG_BIN="$PG_BIN" PGPASS_DIR="$STATE/postgres" LOG_DIR="$LOGS/patroni/$node"
    install -d -o postgres -g postgres -m 0750 "$LOGS/patroni/$node"
    chown postgres:postgres "$STATE/patroni-$node.yml"
    start "patroni-$node" postgres patroni "$STATE/patroni-$node.yml"
    # The first node bootstraps the cluster before the second clones it.
    if [ "$node" = pg1 ]; then
      wait_for "Patroni's first node" 90 patroni_running "$node"
    fi
  done
  wait_for "the PostgreSQL leader" 90 leader_elected
  wait_for "the synchronous replica" 120 sync_replica_streaming
}

patroni_running() { curl -fsS -m 2 "http://127.0.0.1:${REST_PORTS[$1]}/health" >/dev/null; }
sync_replica_streaming() { "$PY" scripts/cluster/status.py "$STATE" --check synchronous; }

leader_elected() { http_ok http://127.0.0.1:28008/primary || http_ok http://127.0.0.1:28009/primary; }

start_haproxy() {
  render "$TEMPLATES/haproxy.cfg.tmpl" "$STATE/haproxy.cfg"
  haproxy -c -q -f "$STATE/haproxy.cfg"
  start haproxy "$ACCOUNT" haproxy -db -f "$STATE/haproxy.cfg"
  wait_for "HAProxy's primary port" 30 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p 25000 -U postgres
}

start_pgbouncer() {
  install -d -o postgres -g postgres -m 0750 "$STATE/pgbouncer"
  render "$TEMPLATES/pgbouncer.ini.tmpl" "$STATE/pgbouncer/pgbouncer.ini" DIR="$STATE/pgbouncer"
  printf '"relay" ""\n"postgres" ""\n' >"$STATE/pgbouncer/userlist.txt"
  chown postgres:postgres "$STATE/pgbouncer/pgbouncer.ini" "$STATE/pgbouncer/userlist.txt"
  start pgbouncer postgres pgbouncer "$STATE/pgbouncer/pgbouncer.ini"
  wait_for PgBouncer 30 "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p 26432 -U relay -d relay -c "select 1"
}

start_redis() {
  own "$STATE/redis"
  # Nothing to keep (docs/operations.md, "Backups"): after a restart, resuming streams get `resync`.
  start redis "$ACCOUNT" redis-server --bind 127.0.0.1 --port 26379 --dir "$STATE/redis" --save "" \
    --appendonly no --protected-mode yes
  wait_for Redis 30 redis-cli -h 127.0.0.1 -p 26379 ping
}

# The Python the account runs the app and stream nodes with, as a command (NODE_PYTHON): the project's
# .venv/bin/python when the account may run it. When it may not (the venv's interpreter lies in a folder only
# root enters, as pyenv's under /root does), that same interpreter copied into .relay/cluster/python: its
# binary, its libpython and its standard library, with a .pth file that adds the venv's packages, so that
# nothing differs but the folder (a Debian python3 of another patch level would not do: redis-py, for one,
# needs a package of its own below 3.11.3). Then the account must be able to read the checkout and import
# the nodes' packages, or `up` stops here saying so.
node_python() {
  NODE_PYTHON=("$PY")
  # The same interpreter, standard library and libpython as root's: one whose own folder the account cannot
  # read still starts, on whatever libpython and standard library the system has.
  local same='import sys; print(sys.version, sys.base_prefix)' built='import sys; print(sys.version)'
  if [ "$(cd "$ROOT" && "${AS_ACCOUNT[@]}" "$PY" -c "$same" 2>/dev/null)" != "$("$PY" -c "$same")" ]; then
    local copy="$STATE/python" base libdir library version packages
    read -r base libdir library version packages < <("$PY" -c 'import sys, sysconfig as c
print(sys.base_prefix, c.get_config_var("LIBDIR"), c.get_config_var("INSTSONAME") if c.get_config_var("Py_ENABLE_SHARED") else "-",
      "%d.%d" % sys.version_info[:2], c.get_path("purelib"))')
    if [ "$(cat "$copy/from" 2>/dev/null)" != "$base $packages" ]; then
      say "Copying $base's interpreter into ${copy#"$ROOT/"}/ (the venv's is out of $ACCOUNT's reach) ..."
      rm -rf "$copy"
      mkdir -p "$copy/bin" "$copy/lib"
      cp "$base/bin/python$version" "$copy/bin/"
      if [ "$library" != - ]; then cp "$libdir/$library" "$copy/lib/"; fi
      tar -C "$base/lib" --exclude="python$version/site-packages" --exclude="python$version/test" \
        -cf - "python$version" | tar -C "$copy/lib" -xf -
      mkdir -p "$copy/lib/python$version/site-packages"
      echo "import site; site.addsitedir('$packages')" >"$copy/lib/python$version/site-packages/relay-venv.pth"
      echo "$base $packages" >"$copy/from"
    fi
    NODE_PYTHON=(env LD_LIBRARY_PATH="$copy/lib" "$copy/bin/python$version")
  fi
  if ! (cd "$ROOT" && "${AS_ACCOUNT[@]}" "${NODE_PYTHON[@]}" -c 'import config.gunicorn_conf, django, gunicorn, uvicorn, redis') \
    || [ "$(cd "$ROOT" && "${AS_ACCOUNT[@]}" "${NODE_PYTHON[@]}" -c "$built")" != "$("$PY" -c "$built")" ]; then
    echo "cluster: $ACCOUNT cannot read the checkout or import the nodes' packages (above): a folder above" \
      "$ROOT is not searchable by others, or a file not readable by them (chmod o+rx it, or clone the" \
      "project under /work, /srv or /tmp)" >&2
    exit 1
  fi
}

# The app nodes' environment: production's profile, over plain HTTP on loopback.
app_environment() {
  if [ ! -f "$STATE/secrets.env" ]; then
    (
      umask 077
      printf 'SECRET_KEY=%s\nJWT_SIGNING_KEY=%s\n' "$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        "$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')" >"$STATE/secrets.env"
    )
  fi
  set -a
  # shellcheck disable=SC1091
  source "$STATE/secrets.env"
  set +a
  export RELAY_PRODUCTION=1 DEBUG=0 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 SECURE_HSTS_SECONDS=0
  export ALLOWED_HOSTS=127.0.0.1,localhost BEHIND_PROXY=1
  export DATABASE_URL=postgres://relay@127.0.0.1:26432/relay
  export DATABASE_REPLICA_URL=postgres://relay@127.0.0.1:26432/relay_replica
  export REPLICA_MAX_LAG_SECONDS=5
  export DB_PREPARED_STATEMENTS=0
  export REDIS_URL=redis://127.0.0.1:26379/0
  export LOG_FORMAT=json LOG_LEVEL=WARNING
}

create_database() {
  "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p 25000 -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE relay LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay') \gexec
SELECT 'CREATE DATABASE relay OWNER relay' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'relay') \gexec
SQL
}

prepare_database() {
  say "Migrating (directly on the primary, port 25000) and writing the demo users ..."
  # Migrations take locks and run DDL: on the primary itself, never through the transaction pooler.
  DATABASE_URL=postgres://relay@127.0.0.1:25000/relay DB_PREPARED_STATEMENTS=1 \
    "$PY" manage.py migrate --noinput >>"$LOGS/migrate.log" 2>&1
  DATABASE_URL=postgres://relay@127.0.0.1:25000/relay "$PY" manage.py seed_data >>"$LOGS/migrate.log" 2>&1
}

declare -A APP_PORTS=([app1]=28001 [app2]=28002 [stream1]=28101 [stream2]=28102)

start_app_node() {
  local node="$1"
  local host="host${node: -1}"
  own "$STATE/metrics/$host"
  case "$node" in
    app*)
      PROMETHEUS_MULTIPROC_DIR="$STATE/metrics/$host" DB_CONN_MAX_AGE=60 \
        start "$node" "$ACCOUNT" "${NODE_PYTHON[@]}" -m gunicorn -c config/gunicorn_conf.py config.wsgi:application \
        --workers 2 --worker-class gthread --threads 4 --bind "127.0.0.1:${APP_PORTS[$node]}"
      ;;
    stream*)
      PROMETHEUS_MULTIPROC_DIR="$STATE/metrics/$host" DB_CONN_MAX_AGE=0 \
        start "$node" "$ACCOUNT" "${NODE_PYTHON[@]}" -m uvicorn config.asgi:application --host 127.0.0.1 \
        --port "${APP_PORTS[$node]}" --workers 2 --lifespan off --no-access-log --timeout-keep-alive 75 \
        --timeout-graceful-shutdown 10
      ;;
  esac
}

start_app_nodes() {
  local node
  app_environment
  node_python
  # Each "machine" keeps its workers' metrics in a folder of its own, emptied while none of its servers runs.
  for host in host1 host2; do
    if ! running "app${host: -1}" && ! running "stream${host: -1}"; then rm -rf "$STATE/metrics/$host"; fi
  done
  for node in stream1 stream2 app1 app2; do start_app_node "$node"; done
  for node in stream1 stream2 app1 app2; do
    wait_for "$node" 60 http_ok "http://127.0.0.1:${APP_PORTS[$node]}/readyz"
  done
  wait_for "the proxy" 30 http_ok http://127.0.0.1:28080/readyz
}

# --- commands -------------------------------------------------------------------------------------------------

cmd_up() {
  if [ "$(id -u)" != 0 ]; then
    echo "cluster: run as root (it starts PostgreSQL as postgres and the rest as $ACCOUNT, which needs root" \
      "to switch to)" >&2
    exit 1
  fi
  ensure_packages
  ensure_account
  # shellcheck disable=SC1091
  source scripts/_venv.sh
  mkdir -p "$RUN" "$LOGS"
  chmod 0755 "$STATE" "$LOGS"
  say "etcd (22379) ..."
  start_etcd
  say "Patroni and PostgreSQL: pg1 (25432, REST 28008) and pg2 (25433, REST 28009) ..."
  start_patroni
  say "HAProxy (HTTP 28080, primary 25000, replica 25001) ..."
  start_haproxy
  create_database
  say "PgBouncer (26432) and Redis (26379) ..."
  start_pgbouncer
  start_redis
  prepare_database
  say "App nodes (gunicorn 28001, 28002) and stream nodes (uvicorn 28101, 28102) ..."
  start_app_nodes
  echo "proxy: http://127.0.0.1:28080"
}

cmd_status() {
  "$PY" scripts/cluster/status.py "$STATE"
}

cmd_down() {
  local node
  for node in app1 app2 stream1 stream2 pgbouncer haproxy; do stop "$node"; done
  # The replica first: a leader that stops first hands its role to the replica, which would be promoted on
  # its way down.
  if http_ok http://127.0.0.1:28008/primary; then stop patroni-pg2 30; fi
  for node in "${PATRONI_NODES[@]}"; do stop "patroni-$node" 30; done
  # A PostgreSQL that Patroni left running (Patroni killed): stopped on its own.
  for node in "${PATRONI_NODES[@]}"; do
    if [ -f "$STATE/postgres/$node/postmaster.pid" ]; then
      setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/pg_ctl" stop -m fast -D "$STATE/postgres/$node" \
        >/dev/null 2>&1 || true
    fi
  done
  stop redis
  stop etcd
  echo "cluster: stopped (data kept in ${STATE#"$ROOT/"}/; \`scripts/cluster.sh clean\` deletes it)"
}

cmd_chaos() {
  # shellcheck disable=SC1091
  REQUIREMENTS=requirements-dev.txt source scripts/_venv.sh
  app_environment
  exec "$PY" scripts/cluster/chaos.py "$STATE" "$@"
}

# start NODE / stop NODE: one node, for `chaos` (app1, app2, stream1, stream2, redis, patroni-pg1, patroni-pg2).
cmd_start_node() {
  local node="$1"
  case "$node" in
    app[12] | stream[12])
      app_environment
      node_python
      start_app_node "$node"
      wait_for "$node" 60 http_ok "http://127.0.0.1:${APP_PORTS[$node]}/readyz"
      ;;
    redis) start_redis ;;
    patroni-pg[12])
      start "$node" postgres patroni "$STATE/$node.yml"
      wait_for "$node" 60 patroni_running "${node#patroni-}"
      ;;
    *)
      echo "cluster: no node $node" >&2
      exit 2
      ;;
  esac
}

cmd_clean() {
  cmd_down
  rm -rf "$STATE"
  echo "cluster: deleted ${STATE#"$ROOT/"}/"
}

case "${1:-}" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
  chaos) shift; cmd_chaos "$@" ;;
  start) cmd_start_node "$2" ;;
  stop) stop "$2" 30 ;;
  clean) cmd_clean ;;
  *)
    echo "usage: scripts/cluster.sh up|status|down|chaos|clean" >&2
    exit 2
    ;;
esac
