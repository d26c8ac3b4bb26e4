#!/usr/bin/env bash
# A local ringcast cluster in one command: one redis-server and N ringcast nodes on this host,
# joined through Redis (cluster mode: --redis, --node-id), to try cluster mode, point clients
# or ringcast-load at several nodes, or rehearse a deployment behind a load balancer
# (docs/deploy/). Not a production launcher: Redis keeps nothing on disk, so every start is
# an empty cluster.
#
# usage: tools/cluster.sh [--nodes N] [--shards S] [--redis-port P] [--base-port PORT]
#                         [--bind ADDR] [--bin PATH] [-- FLAGS for every node...]
#   --nodes N        ringcast nodes (default 3); node K listens on BASE+K-1 with id nodeK
#   --shards S       shards per node (default 2)
#   --redis-port P   redis-server's port on 127.0.0.1 (default 6390: a system Redis on 6379 is
#                    left alone)
#   --base-port P    the first node's port (default 8080)
#   --bind ADDR      the nodes' listening address (default 127.0.0.1; 0.0.0.0 serves others)
#   --bin PATH       the ringcast binary to run. Without it the script hands over to
#                    `tools/setup.sh cluster`, which installs what is missing (Debian packages,
#                    redis-server among them), builds Release in build/ and comes back with
#                    --bin build/tools/ringcast
#   -- FLAGS         passed to every node (e.g. -- --api-key secret --history 'chat:*')
# Nodes run with --no-pin: N nodes pinning their shards to the same first cores would share
# them while other cores idle.
# Runs in the foreground. Logs go to a run directory ($TMPDIR/ringcast-cluster.XXXXXX, printed
# at start). Ctrl-C or SIGTERM stops every node and Redis (SIGTERM, SIGKILL after 5 s) and
# removes the run directory; a process that dies of a signal of its own meanwhile (a crash
# while stopping) is reported, the run directory kept, and the exit status is 1. If any
# process exits by itself, the others are stopped, the run directory is kept for its logs, and
# the script exits with status 1. (Started with `&` from a script, it
# inherits an ignored SIGINT that bash cannot trap: stop that one with SIGTERM.)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=3
SHARDS=2
REDIS_PORT=6390
BASE_PORT=8080
BIND=127.0.0.1
BIN=""
NODE_FLAGS=()
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case $1 in
    --nodes) NODES=$2; shift ;;
    --shards) SHARDS=$2; shift ;;
    --redis-port) REDIS_PORT=$2; shift ;;
    --base-port) BASE_PORT=$2; shift ;;
    --bind) BIND=$2; shift ;;
    --bin) BIN=$2; shift ;;
    --) shift; NODE_FLAGS=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "cluster.sh: $*" >&2; exit 2; }
in_range() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }
in_range "$NODES" 1 32 || die "--nodes must be 1..32"
in_range "$SHARDS" 1 64 || die "--shards must be 1..64"
in_range "$REDIS_PORT" 1 65535 || die "bad --redis-port"
in_range "$BASE_PORT" 1 $((65536 - NODES)) || die "bad --base-port"

if [[ -z $BIN ]]; then
  # Install and build like `tools/setup.sh run`, then come back here with --bin.
  exec "$ROOT/tools/setup.sh" cluster "${ARGS[@]}"
fi
[[ -x $BIN ]] || die "no executable ringcast at $BIN"
command -v redis-server >/dev/null || die "redis-server is not installed (tools/setup.sh deps)"

# Cluster mode must be in this build: ask the binary to parse the flags without starting.
if ! check=$("$BIN" --print-config --redis "redis://127.0.0.1:$REDIS_PORT" --node-id node1 \
  "${NODE_FLAGS[@]}" 2>&1 >/dev/null); then
  if [[ $check == *"unknown flag"* && ($check == *--redis* || $check == *--node-id*) ]]; then
    die "$BIN does not understand --redis: this ringcast has no cluster mode yet ($check)"
  fi
  die "ringcast refused the node flags: $check"
fi

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN; }
port_busy "$REDIS_PORT" && die "port $REDIS_PORT (Redis) is in use; pick another --redis-port"
for ((k = 0; k < NODES; ++k)); do
  port_busy $((BASE_PORT + k)) && die "port $((BASE_PORT + k)) is in use; pick another --base-port"
done

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ringcast-cluster.XXXXXX")
PIDS=()    # every process we started, Redis first
NAMES=()
STOPPING=0
KEEP_LOGS=0

# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  STOPPING=1
  local i pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; --i)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  local crashed=0 status
  for i in "${!PIDS[@]}"; do
    kill -KILL "${PIDS[i]}" 2>/dev/null || true
    status=0
    wait "${PIDS[i]}" 2>/dev/null || status=$?
    # A crash while stopping (SIGSEGV, SIGABRT...) is not a stop: say so. SIGKILL is ours.
    if ((status > 128 && status != 128 + 9 && status != 128 + 15)); then
      echo "cluster.sh: ${NAMES[i]} died of signal $((status - 128)) while stopping. Its log:" >&2
      tail -20 "$RUN_DIR/${NAMES[i]}.log" >&2
      crashed=1
      KEEP_LOGS=1
    fi
  done
  if ((KEEP_LOGS)); then
    rm -rf "$RUN_DIR/redis-data"
    echo "cluster.sh: logs kept in $RUN_DIR" >&2
  else
    rm -rf "$RUN_DIR"
  fi
  if ((crashed)); then exit 1; fi
}
trap stop_all EXIT
trap 'echo "cluster.sh: stopping" >&2; exit 0' INT TERM

# wait_port PORT NAME PID: until PORT listens; fails if PID exits first or after 10 s.
wait_port() {
  for _ in $(seq 100); do
    port_busy "$1" && return 0
    if ! kill -0 "$3" 2>/dev/null; then
      echo "cluster.sh: $2 exited; its log:" >&2
      tail -20 "$RUN_DIR/$2.log" >&2
      KEEP_LOGS=1
      exit 1
    fi
    sleep 0.1
  done
  echo "cluster.sh: $2 did not listen on port $1 within 10 s; see $RUN_DIR/$2.log" >&2
  KEEP_LOGS=1
  exit 1
}

mkdir -p "$RUN_DIR/redis-data"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$RUN_DIR/redis-data" --daemonize no >"$RUN_DIR/redis.log" 2>&1 &
PIDS+=($!)
NAMES+=(redis)
wait_port "$REDIS_PORT" redis "${PIDS[0]}"

for ((k = 1; k <= NODES; ++k)); do
  port=$((BASE_PORT + k - 1))
  "$BIN" --listen "$BIND:$port" --shards "$SHARDS" --no-pin --node-id "node$k" \
    --redis "redis://127.0.0.1:$REDIS_PORT" "${NODE_FLAGS[@]}" >"$RUN_DIR/node$k.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("node$k")
done
for ((k = 1; k <= NODES; ++k)); do wait_port $((BASE_PORT + k - 1)) "node$k" "${PIDS[k]}"; done

host=$BIND
[[ $host == 0.0.0.0 ]] && host=127.0.0.1
urls=""
echo "ringcast cluster: $NODES nodes x $SHARDS shards, Redis on 127.0.0.1:$REDIS_PORT"
for ((k = 1; k <= NODES; ++k)); do
  port=$((BASE_PORT + k - 1))
  printf '  node%-3s ws://%s:%s/ws   http://%s:%s/healthz   pid %s\n' "$k" "$host" "$port" \
    "$host" "$port" "${PIDS[k]}"
  urls+="${urls:+,}ws://$host:$port/ws"
done
echo "  logs     $RUN_DIR/{redis,node1..node$NODES}.log"
echo "  load     build/tools/ringcast-load fanout --url $urls"
echo "Ctrl-C stops all of them."

# Until a signal, or until one process exits by itself.
set +e
wait -n "${PIDS[@]}"
status=$?
set -e
((STOPPING)) && exit 0
KEEP_LOGS=1
for i in "${!PIDS[@]}"; do
  if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
    echo "cluster.sh: ${NAMES[i]} exited (status $status); stopping the rest. Its log:" >&2
    tail -20 "$RUN_DIR/${NAMES[i]}.log" >&2
  fi
done
exit 1
