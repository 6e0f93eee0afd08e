#!/usr/bin/env bash
# Relay on several "machines", all on this host and 127.0.0.1 only (docs/operations.md, "Several machines: the
# cluster on one host"):
#   scripts/cluster.sh up       build and start everything, wait until it answers, print the proxy's address
#   scripts/cluster.sh status   one JSON object: every node's role, port, pid, whether it runs; the replica's lag
#   scripts/cluster.sh down     stop everything it started (data kept: `up` again is quick)
#   scripts/cluster.sh chaos    a bounded run of five faults under load (scripts/cluster/chaos.py)
#   scripts/cluster.sh clean    down, then delete .relay/cluster/
# The engines are Debian's: etcd, Patroni and PostgreSQL 15 (a primary and a synchronous replica), HAProxy,
# PgBouncer and Redis; the app nodes are gunicorn and uvicorn as in production. Needs root (the PostgreSQL
# side runs as the `postgres` user, which refuses root) and installs what is missing with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
STATE="$ROOT/.relay/cluster"
RUN="$STATE/run"   # a pid file per process it started
LOGS="$STATE/log"
TEMPLATES="$ROOT/scripts/cluster"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PY="$ROOT/.venv/bin/python"

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
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing ${missing[*]} (apt-get) ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian packages may have started their own services (pgbouncer on 6432, redis on 6379): the cluster
  # uses ports of its own and leaves them alone.
}

# --- processes ------------------------------------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# The ports each process listens on: one that is taken by something else stops `up` before it starts.
declare -A LISTENS=([etcd]="52379 52380" [patroni-pg1]="55432 58008" [patroni-pg2]="55433 58009"
  [haproxy]="58080 55000 55001 58404" [pgbouncer]=56432 [redis]=56379 [app1]=58001 [app2]=58002
  [stream1]=58101 [stream2]=58102)
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME USER COMMAND...: in a session of its own (its pid is its process group: `chaos` kills the group,
# as a machine dying would), output to log/NAME.log. USER is root or postgres.
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
  local -a as=()
  if [ "$user" = postgres ]; then
    as=(env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups)
  fi
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
declare -A PG_PORTS=([pg1]=55432 [pg2]=55433)
declare -A REST_PORTS=([pg1]=58008 [pg2]=58009)

start_etcd() {
  mkdir -p "$STATE/etcd"
  start etcd root etcd --name relay-etcd --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:52379 --advertise-client-urls http://127.0.0.1:52379 \
    --listen-peer-urls http://127.0.0.1:52380 --initial-advertise-peer-urls http://127.0.0.1:52380 \
    --initial-cluster relay-etcd=http://127.0.0.1:52380 --initial-cluster-state new
  wait_for etcd 30 http_ok http://127.0.0.1:52379/health
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

leader_elected() { http_ok http://127.0.0.1:58008/primary || http_ok http://127.0.0.1:58009/primary; }

start_haproxy() {
  render "$TEMPLATES/haproxy.cfg.tmpl" "$STATE/haproxy.cfg"
  haproxy -c -q -f "$STATE/haproxy.cfg"
  start haproxy root haproxy -db -f "$STATE/haproxy.cfg"
  wait_for "HAProxy's primary port" 30 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p 55000 -U postgres
}

start_pgbouncer() {
  install -d -o postgres -g postgres -m 0750 "$STATE/pgbouncer"
  render "$TEMPLATES/pgbouncer.ini.tmpl" "$STATE/pgbouncer/pgbouncer.ini" DIR="$STATE/pgbouncer"
  printf '"relay" ""\n"postgres" ""\n' >"$STATE/pgbouncer/userlist.txt"
  chown postgres:postgres "$STATE/pgbouncer/pgbouncer.ini" "$STATE/pgbouncer/userlist.txt"
  start pgbouncer postgres pgbouncer "$STATE/pgbouncer/pgbouncer.ini"
  wait_for PgBouncer 30 "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p 56432 -U relay -d relay -c "select 1"
}

start_redis() {
  mkdir -p "$STATE/redis"
  # Nothing to keep (docs/operations.md, "Backups"): after a restart, resuming streams get `resync`.
  start redis root redis-server --bind 127.0.0.1 --port 56379 --dir "$STATE/redis" --save "" \
    --appendonly no --protected-mode yes
  wait_for Redis 30 redis-cli -h 127.0.0.1 -p 56379 ping
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
  export DATABASE_URL=postgres://relay@127.0.0.1:56432/relay
  export DATABASE_REPLICA_URL=postgres://relay@127.0.0.1:56432/relay_replica
  export REPLICA_MAX_LAG_SECONDS=5
  export DB_PREPARED_STATEMENTS=0
  export REDIS_URL=redis://127.0.0.1:56379/0
  export LOG_FORMAT=json LOG_LEVEL=WARNING
}

create_database() {
  "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p 55000 -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SELECT 'CREATE ROLE relay LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay') \gexec
SELECT 'CREATE DATABASE relay OWNER relay' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'relay') \gexec
SQL
}

prepare_database() {
  say "Migrating (directly on the primary, port 55000) and writing the demo users ..."
  # Migrations take locks and run DDL: on the primary itself, never through the transaction pooler.
  DATABASE_URL=postgres://relay@127.0.0.1:55000/relay DB_PREPARED_STATEMENTS=1 \
    "$PY" manage.py migrate --noinput >>"$LOGS/migrate.log" 2>&1
  DATABASE_URL=postgres://relay@127.0.0.1:55000/relay "$PY" manage.py seed_data >>"$LOGS/migrate.log" 2>&1
}

declare -A APP_PORTS=([app1]=58001 [app2]=58002 [stream1]=58101 [stream2]=58102)

start_app_node() {
  local node="$1"
  local host="host${node: -1}"
  mkdir -p "$STATE/metrics/$host"
  case "$node" in
    app*)
      PROMETHEUS_MULTIPROC_DIR="$STATE/metrics/$host" DB_CONN_MAX_AGE=60 \
        start "$node" root "$ROOT/.venv/bin/gunicorn" -c config/gunicorn_conf.py config.wsgi:application \
        --workers 2 --worker-class gthread --threads 4 --bind "127.0.0.1:${APP_PORTS[$node]}"
      ;;
    stream*)
      PROMETHEUS_MULTIPROC_DIR="$STATE/metrics/$host" DB_CONN_MAX_AGE=0 \
        start "$node" root "$ROOT/.venv/bin/uvicorn" config.asgi:application --host 127.0.0.1 \
        --port "${APP_PORTS[$node]}" --workers 2 --lifespan off --no-access-log --timeout-keep-alive 75 \
        --timeout-graceful-shutdown 10
      ;;
  esac
}

start_app_nodes() {
  local node
  app_environment
  # Each "machine" keeps its workers' metrics in a folder of its own, emptied while none of its servers runs.
  for host in host1 host2; do
    if ! running "app${host: -1}" && ! running "stream${host: -1}"; then rm -rf "$STATE/metrics/$host"; fi
  done
  for node in stream1 stream2 app1 app2; do start_app_node "$node"; done
  for node in stream1 stream2 app1 app2; do
    wait_for "$node" 60 http_ok "http://127.0.0.1:${APP_PORTS[$node]}/readyz"
  done
  wait_for "the proxy" 30 http_ok http://127.0.0.1:58080/readyz
}

# --- commands -------------------------------------------------------------------------------------------------

cmd_up() {
  if [ "$(id -u)" != 0 ]; then
    echo "cluster: run as root (PostgreSQL runs as the postgres user, which needs root to switch to)" >&2
    exit 1
  fi
  ensure_packages
  # shellcheck disable=SC1091
  source scripts/_venv.sh
  mkdir -p "$RUN" "$LOGS"
  chmod 0755 "$STATE" "$LOGS"
  say "etcd (52379) ..."
  start_etcd
  say "Patroni and PostgreSQL: pg1 (55432, REST 58008) and pg2 (55433, REST 58009) ..."
  start_patroni
  say "HAProxy (HTTP 58080, primary 55000, replica 55001) ..."
  start_haproxy
  create_database
  say "PgBouncer (56432) and Redis (56379) ..."
  start_pgbouncer
  start_redis
  prepare_database
  say "App nodes (gunicorn 58001, 58002) and stream nodes (uvicorn 58101, 58102) ..."
  start_app_nodes
  echo "proxy: http://127.0.0.1:58080"
}

cmd_status() {
  "$PY" scripts/cluster/status.py "$STATE"
}

cmd_down() {
  local node
  for node in app1 app2 stream1 stream2 pgbouncer haproxy; do stop "$node"; done
  # The replica first: a leader that stops first hands its role to the replica, which would be promoted on
  # its way down.
  if http_ok http://127.0.0.1:58008/primary; then stop patroni-pg2 30; fi
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
