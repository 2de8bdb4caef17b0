#!/usr/bin/env bash
# `make cluster`: the multi-node setup on this machine, to try it. PostgreSQL 15 and Redis 7 of
# its own (scripts/test-services.sh, in var/cluster/services: fresh every time, gone at the
# end), two nodes n1 and n2 on 127.0.0.1:8081 and :8082 sharing that PostgreSQL, and nginx on
# 127.0.0.1:8080 from deploy/nginx/parley.conf (rendered into var/cluster/nginx). Ctrl-C stops
# everything, by PID, in order: nginx, the nodes (drained), the services.
#
#   scripts/cluster.sh            (PARLEY_BINARY=… for another binary than ./build/parley)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$root/var/cluster
binary=${PARLEY_BINARY:-$root/build/parley}
listen=127.0.0.1:8080
nodes=(n1=127.0.0.1:8081 n2=127.0.0.1:8082)
deadline=60 # seconds; only reached when something is broken

die() {
  echo "cluster: $*" >&2
  exit 1
}

[ -x "$binary" ] || make build
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || die "nginx not found (make deps installs it)"

pids=()   # nodes and nginx, started by this script
tail_pid= # the log follower
stopping=false
cleanup() {
  $stopping && return
  stopping=true
  trap '' INT TERM
  echo
  echo "cluster: stopping"
  [ -n "$tail_pid" ] && kill -- "-$tail_pid" 2>/dev/null || true
  local pid
  # nginx first (the last in the list), then the nodes: SIGTERM drains them.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq $((deadline * 20))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05 # polling for the exit, bounded
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  bash scripts/test-services.sh stop "$dir/services" || true
  echo "cluster: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls until `"$@"` succeeds; fails if PID dies first or the deadline passes.
wait_until() {
  local pid=$1 what=$2
  shift 2
  for _ in $(seq $((deadline * 20))); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited while starting"
    sleep 0.05 # the polling interval, not a synchronisation
  done
  die "$what not ready after ${deadline}s"
}

for address in "$listen" "${nodes[@]#*=}"; do
  if (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
    die "$address is in use: stop what listens there first"
  fi
done

mkdir -p "$dir"
bash scripts/test-services.sh start "$dir/services"
database=$(cat "$dir/services/postgres.url")
redis=$(cat "$dir/services/redis.url")

# The bus is the other half of several nodes: users on different nodes see each other live.
bus=(--bus "$redis")

node_args=()
for node in "${nodes[@]}"; do
  name=${node%%=*}
  address=${node#*=}
  log=$dir/$name.log
  : >"$log"
  setsid "$binary" serve --node-id "$name" --listen "$address" --database "$database" \
    "${bus[@]}" --trust-proxy --max-connections-per-address 100000 \
    </dev/null >>"$log" 2>&1 &
  pids+=($!)
  wait_until "$!" "node $name" grep -q 'server\.ready' "$log"
  node_args+=(--node "$node")
done

mkdir -p "$dir/nginx/temp"
/usr/bin/python3 tests/e2e/nginx_support.py render --listen "$listen" "${node_args[@]}" \
  --prefix "$dir/nginx" >"$dir/nginx/nginx.conf"
chmod 755 "$dir/nginx"
setsid nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' \
  </dev/null >>"$dir/nginx/stderr.log" 2>&1 &
pids+=($!)
wait_until "$!" nginx curl -sf "http://$listen/healthz"

cat <<EOF

Parley: two nodes behind nginx.

  open        http://$listen/            (nginx; each node also answers on its own port)
  nodes       n1 http://${nodes[0]#*=}/  n2 http://${nodes[1]#*=}/   logs: var/cluster/n1.log, n2.log
  which node  curl -s http://$listen/healthz   ({"status":"ok","node":"n1"})
  PostgreSQL  $database
  Redis       $redis   (the bus between the nodes)
  nginx       var/cluster/nginx/ (nginx.conf, access.log, error.log)

Sign-in codes come from the development SMS sender, in the log of the node that sent them;
they are shown below as they arrive. Ctrl-C stops everything (the data goes with it).
EOF
echo

# In a process group of its own (setsid runs bash in place: $! is its PID, the group's id).
setsid bash -c 'tail -n 0 -F "$1" "$2" 2>/dev/null |
  grep --line-buffered -E "sms\.development|http\.draining|server\.stopped| error | critical "' \
  follow "$dir/n1.log" "$dir/n2.log" &
tail_pid=$!
# Until Ctrl-C, or until a node or nginx exits by itself.
wait -n "${pids[@]}" || true
echo "cluster: a process exited by itself; see var/cluster/*.log and var/cluster/nginx/"
