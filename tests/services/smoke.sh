#!/usr/bin/env bash
# The `services` fixture end to end, as any test sees it: PARLEY_TEST_SERVICES names the
# directory, and the PostgreSQL and Redis there answer with Debian's own clients.
set -euo pipefail
dir=${PARLEY_TEST_SERVICES:?PARLEY_TEST_SERVICES is not set: run through ctest (fixture services)}
postgres_url=$(cat "$dir/postgres.url")
redis_url=$(cat "$dir/redis.url")
echo "postgres: $postgres_url, redis: $redis_url"

[ "$(psql "$postgres_url" -X -At -c 'select 1')" = 1 ]
settings=$(psql "$postgres_url" -X -At -F ' ' -c "select current_user, current_database(),
  current_setting('server_version_num')::int / 10000, current_setting('fsync'),
  current_setting('synchronous_commit'), current_setting('server_encoding'),
  current_setting('lc_collate')")
echo "postgres: $settings"
[ "$settings" = "parley parley 15 on on UTF8 C" ]

[ "$(redis-cli -u "$redis_url" ping)" = PONG ]
version=$(redis-cli -u "$redis_url" info server | sed -n 's/^redis_version:\([0-9]*\)\..*/\1/p')
echo "redis: major version $version"
[ "$version" = 7 ]
echo ok
