#!/usr/bin/env bash
# Starts and stops the real PostgreSQL 15 and Redis 7 that the tests use: their own processes,
# on free loopback ports, with their own data, never the system's services.
#
#   test-services.sh start DIR [--redis-persist]   fresh PostgreSQL + Redis, ready when it returns
#   test-services.sh stop DIR                      stops both by PID and removes their data
#   test-services.sh stop-postgres DIR [immediate] stops PostgreSQL (fast shutdown; "immediate"
#                                                  = SIGQUIT, a crash needing recovery), keeps data
#   test-services.sh start-postgres DIR            starts it again: same port, same data
#   test-services.sh stop-redis DIR                stops Redis, keeps its configuration
#   test-services.sh start-redis DIR               starts it again on the same port
#   test-services.sh restart-redis DIR             both of the above
#
# `start` writes in DIR: postgres.url (postgresql://parley@127.0.0.1:PORT/parley, superuser
# `parley`, trust on loopback), redis.url (redis://127.0.0.1:PORT), postgres.port, redis.port,
# postgres.pid, redis.pid, and keeps the logs (postgres/postgres.log, redis/redis.log). Redis
# keeps nothing on disk unless --redis-persist (append-only file, fsync on every write), which
# then survives restart-redis. PostgreSQL keeps fsync and synchronous_commit on: the tests that
# use it are durability tests.
#
# PostgreSQL refuses to run as root: as root it runs as the `postgres` user of the Debian
# package, in a temporary directory owned by that user (DIR/postgres is a link to it); otherwise
# as the current user, in the same kind of directory (short paths keep its Unix socket under the
# 107-byte limit whatever DIR is). Nothing here sleeps to synchronise: every wait polls for the
# state it needs (pg_isready, redis-cli ping, the PID gone) until a deadline, and fails with the
# log's tail when the deadline passes.
set -euo pipefail

# A developer's PG* variables (PGHOST, PGSSLMODE=require, ...) or REDISCLI_AUTH would change
# what the clients below connect to: every connection here is spelled out instead.
unset REDISCLI_AUTH $(compgen -e | grep '^PG' || true)

PG_BIN=${PARLEY_PG_BIN:-/usr/lib/postgresql/15/bin}
DEADLINE=${PARLEY_SERVICES_TIMEOUT:-60} # seconds; only reached when something is broken

die() {
  echo "test-services: $*" >&2
  exit 1
}

usage() {
  sed -n '2,11p' "$0" >&2
  exit 2
}

[ $# -ge 2 ] || usage
command=$1
dir=$2
shift 2
case "$command" in
  start | stop | stop-postgres | start-postgres | stop-redis | start-redis | restart-redis) ;;
  *) usage ;;
esac
if [ "$command" = start ]; then
  mkdir -p "$dir"
elif [ ! -d "$dir" ]; then
  [ "$command" = stop ] && exit 0 # nothing to stop
  die "no services in $dir (run: $0 start $dir)"
fi
dir=$(cd "$dir" && pwd)

as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true

# Runs a command as the user PostgreSQL runs as, from a directory that user can read (initdb
# and pg_ctl fail when they cannot resolve their working directory).
as_pg_user() {
  if $as_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

log_tail() {
  local file=$1
  if [ -r "$file" ]; then
    echo "--- last lines of $file:" >&2
    tail -n 30 "$file" >&2
    echo "---" >&2
  fi
}

# A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768-60999) so that a
# restarted service finds its port still free rather than taken by some outgoing connection.
free_port() {
  /usr/bin/python3 - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port found")
EOF
}

# True while PID is alive (not a zombie) and, when NAME is given, runs that program (so a
# reused PID is never signalled).
is_running() {
  local pid=$1 name=${2:-} stat
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$stat" =~ \)\ Z ]] && return 1
  [ -z "$name" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

# Polls `"$@"` until it succeeds (status 0) or DEADLINE passes (status 1). With a PID (or ""
# for none) it fails early (status 2) once that process has died.
wait_until() {
  local pid=$1
  shift
  local end=$((SECONDS + DEADLINE))
  while true; do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$pid" ] && ! is_running "$pid"; then
      return 2
    fi
    [ $SECONDS -lt $end ] || return 1
    sleep 0.05 # the polling interval, not a synchronisation
  done
}

# Sends SIGNAL to PID (when it is still NAME), waits until it is gone, SIGKILL at the deadline.
stop_pid() {
  local pid=$1 name=$2 signal=$3
  is_running "$pid" "$name" || return 0
  kill -s "$signal" "$pid" 2>/dev/null || true
  if ! wait_until "" not_running "$pid"; then
    echo "test-services: $name (pid $pid) still running ${DEADLINE}s after SIG$signal: SIGKILL" >&2
    kill -s KILL "$pid" 2>/dev/null || true
    wait_until "" not_running "$pid" || die "could not kill $name (pid $pid)"
  fi
}

not_running() { ! is_running "$1"; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL: DIR/postgres -> /tmp/parley-pg.XXXXXX/{data,socket,postgres.log}

# The real directory: the server is only ever given paths inside it, which its user can reach
# even when it cannot reach DIR.
pg_root() { readlink -f "$dir/postgres"; }

pg_ready() {
  "$PG_BIN/pg_isready" -q -t 5 -h 127.0.0.1 -p "$(cat "$dir/postgres.port")" -U parley -d postgres
}

start_postgres() {
  local root port status
  root=$(pg_root)
  [ -d "$root/data" ] || die "no PostgreSQL data in $root (run: $0 start $dir)"
  port=$(cat "$dir/postgres.port")
  if is_running "$(cat "$dir/postgres.pid" 2>/dev/null || true)" postgres; then
    die "PostgreSQL is already running (pid $(cat "$dir/postgres.pid"))"
  fi
  rm -f "$dir/postgres.pid"
  # pg_ctl detaches the server (its own session, stdin from /dev/null, output to the log), so
  # ctest does not wait for it. -w -t: pg_ctl polls until the server accepts connections, and
  # returns at once if it exits, bounded by the deadline.
  local before
  before=$(stat -c %s "$root/postgres.log" 2>/dev/null || echo 0)
  if ! as_pg_user "$PG_BIN/pg_ctl" start -w -t "$DEADLINE" -s -D "$root/data" \
    -l "$root/postgres.log" -o "-p $port" >"$dir/pg_ctl.out" 2>&1; then
    cat "$dir/pg_ctl.out" >&2
    log_tail "$root/postgres.log"
    if tail -c +"$((before + 1))" "$root/postgres.log" | grep -q "Address already in use"; then
      return 3 # port taken since we picked it: the caller may pick another
    fi
    die "PostgreSQL did not start on 127.0.0.1:$port"
  fi
  rm -f "$dir/pg_ctl.out"
  head -n 1 "$root/data/postmaster.pid" >"$dir/postgres.pid"
  status=0
  wait_until "$(cat "$dir/postgres.pid")" pg_ready || status=$?
  if [ $status -ne 0 ]; then
    log_tail "$root/postgres.log"
    die "PostgreSQL not accepting connections on 127.0.0.1:$port (pg_isready)"
  fi
}

stop_postgres() {
  local mode=${1:-fast} signal
  case "$mode" in
    fast) signal=INT ;;
    immediate) signal=QUIT ;;
    *) usage ;;
  esac
  if [ -s "$dir/postgres.pid" ]; then
    stop_pid "$(cat "$dir/postgres.pid")" postgres "$signal"
  fi
  rm -f "$dir/postgres.pid"
}

create_postgres() {
  local real attempt port status
  if $as_root; then
    id postgres >/dev/null 2>&1 ||
      die "running as root, but there is no 'postgres' user (is postgresql-15 installed?)"
  fi
  [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found (install postgresql-15)"
  # The postgres user must be able to run programs at all. A root directory of mode 0700 (a
  # chroot made with mktemp -d, say) forbids every other user even that; every Debian system
  # has it at 0755, so give it back the traverse bit (not read), and say so.
  if $as_root && ! (cd / && runuser -u postgres -- /usr/bin/true) 2>/dev/null; then
    local mode
    mode=$(stat -c %a /)
    if [ "$mode" != 755 ] && chmod o+x / && (cd / && runuser -u postgres -- /usr/bin/true); then
      echo "test-services: / was mode $mode (no traverse bit for others): added it" >&2
    else
      die "the postgres user cannot run programs here (runuser -u postgres -- /usr/bin/true fails)"
    fi
  fi
  # As root, /tmp rather than $TMPDIR: the postgres user must be able to reach it.
  if $as_root; then
    real=$(mktemp -d /tmp/parley-pg.XXXXXX)
    chown postgres:postgres "$real"
  else
    real=$(mktemp -d "${TMPDIR:-/tmp}/parley-pg.XXXXXX")
  fi
  chmod 700 "$real"
  ln -sfn "$real" "$dir/postgres"
  as_pg_user mkdir "$real/socket"
  as_pg_user "$PG_BIN/initdb" -D "$real/data" -U parley --auth=trust --encoding=UTF8 \
    --locale=C --no-instructions >"$dir/initdb.log" 2>&1 ||
    { log_tail "$dir/initdb.log"; die "initdb failed"; }
  rm -f "$dir/initdb.log"
  as_pg_user tee -a "$real/data/postgresql.conf" >/dev/null <<EOF

# scripts/test-services.sh: a small server for tests, on loopback only. The port is given
# on the command line (pg_ctl -o "-p PORT"), so that a restart keeps it.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$real/socket'
max_connections = 100
shared_buffers = 32MB
max_wal_size = 256MB
# real durability: these are the defaults, spelled out because tests rely on them
fsync = on
synchronous_commit = on
full_page_writes = on
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
EOF
  as_pg_user tee "$real/data/pg_hba.conf" >/dev/null <<EOF
# scripts/test-services.sh: trust on the test's own socket and on loopback, nothing else
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "$port" >"$dir/postgres.port"
    status=0
    start_postgres || status=$?
    [ $status -eq 3 ] || break
  done
  [ $status -eq 0 ] || die "PostgreSQL could not bind a free port"
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U parley -d postgres \
    -c 'CREATE DATABASE parley' >/dev/null || die "could not create the database parley"
  echo "postgresql://parley@127.0.0.1:$port/parley" >"$dir/postgres.url"
}

remove_postgres() {
  local real
  if [ -L "$dir/postgres" ]; then
    real=$(readlink "$dir/postgres")
    case "$real" in
      */parley-pg.*) rm -rf "$real" ;;
    esac
  fi
  rm -rf "$dir/postgres" "$dir/postgres.url" "$dir/postgres.port" "$dir/initdb.log" \
    "$dir/pg_ctl.out"
}

# ---------------------------------------------------------------------------------------------
# Redis: DIR/redis/{redis.conf,redis.log,appendonly…}

# Each probe is bounded too: something else on the port may accept and never answer.
redis_ready() {
  [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$(cat "$dir/redis.port")" ping 2>/dev/null)" = PONG ]
}

start_redis() {
  local root=$dir/redis port status
  [ -f "$root/redis.conf" ] || die "no Redis configuration in $root (run: $0 start $dir)"
  port=$(cat "$dir/redis.port")
  if is_running "$(cat "$dir/redis.pid" 2>/dev/null || true)" redis-server; then
    die "Redis is already running (pid $(cat "$dir/redis.pid"))"
  fi
  rm -f "$dir/redis.pid"
  # Its own session (setsid execs it: same PID), standard streams away from the caller's, so
  # ctest does not wait for it. Not "daemonize yes": we know its PID at once and see at once
  # when it exits (a taken port, a bad configuration) instead of waiting for a pid file.
  local before pid
  before=$(stat -c %s "$root/redis.log" 2>/dev/null || echo 0)
  (cd "$root" && exec setsid redis-server "$root/redis.conf" </dev/null >>"$root/redis.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/redis.pid"
  status=0
  wait_until "$pid" redis_ready || status=$?
  if [ $status -ne 0 ]; then
    log_tail "$root/redis.log"
    stop_pid "$pid" redis-server TERM
    rm -f "$dir/redis.pid"
    if tail -c +"$((before + 1))" "$root/redis.log" | grep -q "Address already in use"; then
      return 3 # port taken since we picked it: the caller may pick another
    fi
    [ $status -eq 2 ] && die "Redis exited while starting (port $port)"
    die "Redis not ready on 127.0.0.1:$port after ${DEADLINE}s"
  fi
}

stop_redis() {
  if [ -s "$dir/redis.pid" ]; then
    stop_pid "$(cat "$dir/redis.pid")" redis-server TERM
  fi
  rm -f "$dir/redis.pid"
}

create_redis() {
  local persist=$1 root=$dir/redis attempt port status
  command -v redis-server >/dev/null || die "redis-server not found (install redis-server)"
  mkdir -p "$root"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "$port" >"$dir/redis.port"
    {
      echo "# scripts/test-services.sh: a Redis for tests, on loopback only"
      echo "bind 127.0.0.1"
      echo "port $port"
      echo "protected-mode yes"
      echo "daemonize no"
      echo "pidfile \"$root/redis-server.pid\""
      echo "dir \"$root\""
      echo "logfile \"$root/redis.log\""
      echo "loglevel notice"
      echo "databases 16"
      echo 'save ""'
      if [ "$persist" = yes ]; then
        echo "appendonly yes"
        echo "appendfsync always"
      else
        echo "appendonly no"
      fi
    } >"$root/redis.conf"
    status=0
    start_redis || status=$?
    [ $status -eq 3 ] || break
  done
  [ $status -eq 0 ] || die "Redis could not bind a free port"
  echo "redis://127.0.0.1:$port" >"$dir/redis.url"
}

remove_redis() {
  rm -rf "$dir/redis" "$dir/redis.url" "$dir/redis.port"
}

# ---------------------------------------------------------------------------------------------

stop_all() {
  stop_redis
  stop_postgres fast
  remove_redis
  remove_postgres
}

case "$command" in
  start)
    persist=no
    for option in "$@"; do
      case "$option" in
        --redis-persist) persist=yes ;;
        *) usage ;;
      esac
    done
    # Whatever a previous run left (an interrupted ctest): stopped and removed first.
    stop_all
    # A failure half-way leaves nothing running behind.
    trap 'status=$?; [ $status -eq 0 ] || stop_all; exit $status' EXIT
    create_postgres
    create_redis "$persist"
    trap - EXIT
    echo "test-services: $(cat "$dir/postgres.url") (pid $(cat "$dir/postgres.pid"))," \
      "$(cat "$dir/redis.url") (pid $(cat "$dir/redis.pid"))"
    ;;
  stop)
    stop_all
    rmdir "$dir" 2>/dev/null || true
    ;;
  stop-postgres) stop_postgres "${1:-fast}" ;;
  start-postgres) start_postgres || die "PostgreSQL could not bind its port again" ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis || die "Redis could not bind its port again" ;;
  restart-redis)
    stop_redis
    start_redis || die "Redis could not bind its port again"
    ;;
  *) usage ;;
esac
