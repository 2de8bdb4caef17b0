#!/usr/bin/env bash
# scripts/test-services.sh on a private instance (the shared fixture is never stopped by a
# test): start, PostgreSQL stopped and started again (fast, then immediate = crash recovery)
# keeping its port and data, Redis restarted on the same port with and without persistence,
# and stop leaving no process and no data behind.
set -euo pipefail
script=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-services-test.XXXXXX")
trap 'bash "$script" stop "$dir"' EXIT
services() { local command=$1; shift; bash "$script" "$command" "$dir" "$@"; }
pg() { psql "$(cat "$dir/postgres.url")" -X -At -v ON_ERROR_STOP=1 -c "$1"; }
redis() { redis-cli -u "$(cat "$dir/redis.url")" "$@"; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$script" start "$dir" --redis-persist
postgres_url=$(cat "$dir/postgres.url")
redis_url=$(cat "$dir/redis.url")
postgres_pid=$(cat "$dir/postgres.pid")
redis_pid=$(cat "$dir/redis.pid")
alive "$postgres_pid" || fail "postgres pid $postgres_pid"
alive "$redis_pid" || fail "redis pid $redis_pid"

pg "create table kept (value text); insert into kept values ('committed')" >/dev/null
services stop-postgres
alive "$postgres_pid" && fail "postgres still running after stop-postgres"
pg 'select 1' 2>/dev/null && fail "postgres still answering after stop-postgres"
services start-postgres
[ "$(cat "$dir/postgres.url")" = "$postgres_url" ] || fail "postgres url changed"
[ "$(pg 'select value from kept')" = committed ] || fail "data lost across a fast restart"

pg "insert into kept values ('before the crash')" >/dev/null
services stop-postgres immediate
services start-postgres
[ "$(pg 'select count(*) from kept')" = 2 ] || fail "committed data lost across a crash"

redis set key value >/dev/null
services restart-redis
[ "$(cat "$dir/redis.url")" = "$redis_url" ] || fail "redis url changed"
alive "$redis_pid" && fail "the old redis is still running"
[ "$(redis get key)" = value ] || fail "--redis-persist: key lost across restart-redis"
services stop-redis
redis ping 2>/dev/null | grep -q PONG && fail "redis still answering after stop-redis"
services start-redis
[ "$(redis ping)" = PONG ] || fail "redis not back"

postgres_pid=$(cat "$dir/postgres.pid")
redis_pid=$(cat "$dir/redis.pid")
pg_data=$(readlink "$dir/postgres")
trap - EXIT
services stop
alive "$postgres_pid" && fail "postgres still running after stop"
alive "$redis_pid" && fail "redis still running after stop"
[ ! -e "$dir" ] || fail "$dir left behind"
[ ! -e "$pg_data" ] || fail "$pg_data left behind"

# Without --redis-persist, Redis keeps nothing across a restart.
trap 'bash "$script" stop "$dir"' EXIT
bash "$script" start "$dir"
redis set key value >/dev/null
services restart-redis
[ -z "$(redis get key)" ] || fail "redis kept data without --redis-persist"
echo ok
