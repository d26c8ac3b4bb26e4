#!/usr/bin/env bash
# Cluster-mode benchmark: the same ringcast-load scenarios against one ringcast node (no Redis)
# and against 3 nodes joined through one redis-server (--redis), in one run on this host.
# Rows:
#   cross-node fan-out: 1 room x 1000 subscribers, the publisher on node 1 and the subscribers
#     on nodes 2 and 3 (ringcast-load --pub-nodes 1 --sub-nodes 2,3), so every delivery
#     crosses Redis; ladder of deliveries/s (highest step with >= 99 % delivered and p99 under
#     50 ms), and the same load at a fixed 100k deliveries/s for p99 at equal load;
#   the same at 100k/s in a room with history (one script per publication: EVALSHA);
#   1000 rooms x 10 subscribers, 10 publishers, every connection round robin over the 3 nodes
#     (each room's subscribers on every node); ladder, p99 under 500 ms as in compare.sh.
# Against each cluster run, Redis's INFO commandstats and its CPU (/proc/PID/stat utime+stime)
# are read before and after the generator runs: the table shows PUBLISH+SPUBLISH+EVALSHA
# calls per publication (target: 1, not one per node or per subscriber), every command per
# publication, and Redis CPU microseconds per publication. Publications = the generator's
# published_all (warmup and window).
# Each cell is the median of --runs runs, each against freshly started servers and Redis.
# Raw JSON lines: $BUILD/cluster-<time>/raw.jsonl; the tables: bench/cluster_table.py.
#
# usage: bench/cluster.sh [--quick] [--runs N] [--shards S] [--base-port P] [--redis-port P]
#                         [--build DIR] [--ringcast PATH] [--nice N]
#   --quick       ~5 minutes: 2 s windows, short ladders
#   --runs N      runs per cell (default 3)
#   --shards S    shards per node, the single node's too (default 1)
#   --base-port P node K listens on P+K-1 (default 19600); Redis on --redis-port (19599)
#   --build DIR   build folder (default build-peers/, shared with compare.sh); Release
#   --ringcast P  the server binary to measure (default DIR/tools/ringcast)
#   --nice N      niceness of servers, Redis and generator (default -10; 0 = off)
# Pinning as compare.sh: every server process and Redis on CPU 0, the generator on CPU 1, so
# one node and the 3-node cluster get the same core. Fails at once, measuring nothing, when the
# ringcast binary does not understand --redis. All traffic is to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-peers
RUNS=3
QUICK=0
SHARDS=1
BASE_PORT=19600
REDIS_PORT=19599
NICE=-10
NODES=3
RINGCAST=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --shards) SHARDS=$2; shift ;;
    --base-port) BASE_PORT=$2; shift ;;
    --redis-port) REDIS_PORT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --ringcast) RINGCAST=$2; shift ;;
    --nice) NICE=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

RINGCAST=${RINGCAST:-$BUILD/tools/ringcast}
LOAD=$BUILD/tools/ringcast-load
TABLE="python3 $ROOT/bench/compare_table.py"
OUT=$BUILD/cluster-$(date +%Y%m%d-%H%M%S)
RAW=$OUT/raw.jsonl

# --- build and checks ------------------------------------------------------------------------
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGCAST_BENCH=OFF \
    -DRINGCAST_TESTS=OFF >/dev/null
fi
ninja -C "$BUILD" ringcast ringcast-load >/dev/null  # always: a stale binary measures old code
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "cluster.sh: redis-server and redis-cli are needed (tools/setup.sh deps)" >&2
  exit 2
fi
if ! err=$("$RINGCAST" --print-config --redis "redis://127.0.0.1:$REDIS_PORT" --node-id node1 \
  2>&1 >/dev/null); then
  echo "cluster.sh: $RINGCAST does not take the cluster flags (--redis URL --node-id ID):" >&2
  echo "  $err" >&2
  echo "  cluster mode has not landed in this build; nothing was measured." >&2
  exit 2
fi
mkdir -p "$OUT"
: >"$RAW"
# Rooms with history for the history row (room-N is in the default namespace).
printf '[namespaces.default]\nhistory_size = 100\n' >"$OUT/history.toml"

# --- timing ----------------------------------------------------------------------------------
if ((QUICK)); then
  DUR=2; WARM=1; DRAIN=1
  LADDER_1K="100000 250000 500000 1000000"
  LADDER_ROOMS="50000 100000 250000"
else
  DUR=4; WARM=1; DRAIN=2
  LADDER_1K="100000 250000 500000 1000000 2000000 3000000 4000000"
  LADDER_ROOMS="50000 100000 150000 200000 250000 300000 400000 500000 1000000"
fi
FIXED=100000  # deliveries/s of the fixed rows

# --- processes and cleanup -------------------------------------------------------------------
PIDS=()       # ringcast nodes of the current run
REDIS_PID=""
LOAD_PID=""
cleanup() {
  if [[ -n $LOAD_PID ]]; then kill "$LOAD_PID" 2>/dev/null || true; fi
  stop_servers
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  PIDS=()
  [[ -n $REDIS_PID ]] && stop_pid "$REDIS_PID"
  REDIS_PID=""
}

port_open() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN; }

wait_port() {  # PORT NAME PID
  for _ in $(seq 100); do
    port_open "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "cluster.sh: $2 did not listen on $1 (log: $OUT/$2.log)" >&2
  return 1
}

start_redis() {
  rm -rf "$OUT/redis-data" && mkdir -p "$OUT/redis-data"
  nice -n "$NICE" taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$OUT/redis-data" >>"$OUT/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_port "$REDIS_PORT" redis "$REDIS_PID"
}

# start_servers MODE HISTORY: MODE one-node (no Redis) or cluster (Redis and NODES nodes).
# Sets URLS (comma list) and SERVER_PIDS (comma list).
start_servers() {
  local mode=$1 history=$2 n=1 k port
  local extra=(--shards "$SHARDS" --no-pin --commands-per-second 0 --drain-ms 100)
  ((history)) && extra+=(--config "$OUT/history.toml")
  for port in $(seq "$BASE_PORT" $((BASE_PORT + NODES))) "$REDIS_PORT"; do
    while port_open "$port"; do sleep 0.2; done  # the previous run's servers are gone
  done
  if [[ $mode == cluster ]]; then
    n=$NODES
    start_redis || return 1
  fi
  URLS=""
  SERVER_PIDS=""
  for ((k = 1; k <= n; ++k)); do
    port=$((BASE_PORT + k - 1))
    local cluster_flags=()
    [[ $mode == cluster ]] &&
      cluster_flags=(--redis "redis://127.0.0.1:$REDIS_PORT" --node-id "node$k")
    nice -n "$NICE" taskset -c 0 "$RINGCAST" --listen "127.0.0.1:$port" "${extra[@]}" \
      "${cluster_flags[@]}" >>"$OUT/node$k.log" 2>&1 &
    PIDS+=($!)
    URLS+="${URLS:+,}ws://127.0.0.1:$port/ws"
    SERVER_PIDS+="${SERVER_PIDS:+,}$!"
  done
  for ((k = 1; k <= n; ++k)); do
    wait_port $((BASE_PORT + k - 1)) "node$k" "${PIDS[k - 1]}" || return 1
  done
}

# Redis counters: "PUB ALL CPU" = PUBLISH+SPUBLISH+EVALSHA(+EVAL) calls, every command but
# INFO, and utime+stime in seconds.
redis_sample() {
  local ticks
  ticks=$(getconf CLK_TCK)
  redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | awk -F'[:=,]' -v ticks="$ticks" \
    -v stat="$(cut -d' ' -f14,15 "/proc/$REDIS_PID/stat")" '
    /^cmdstat_/ { name = substr($1, 9); calls = $3
                  if (name != "info") all += calls
                  if (name == "publish" || name == "spublish" || name == "evalsha" || name == "eval")
                    pub += calls }
    END { split(stat, t, " "); printf "%d %d %.4f\n", pub, all, (t[1] + t[2]) / ticks }'
}

# run_one MODE ROW KIND STEP RUN HISTORY -- generator args (without --url)
run_one() {
  local mode=$1 row=$2 kind=$3 step=$4 run=$5 history=$6
  shift 7
  local json redis_json="null" before="" after=""
  if ! start_servers "$mode" "$history"; then
    stop_servers
    return 0
  fi
  local args=("$@")
  if [[ $mode == cluster ]]; then
    before=$(redis_sample)
  else
    # One node: the node lists name positions in a list of one; drop them.
    local kept=() skip=0
    for a in "${args[@]}"; do
      ((skip)) && { skip=0; continue; }
      [[ $a == --pub-nodes || $a == --sub-nodes ]] && { skip=1; continue; }
      kept+=("$a")
    done
    args=("${kept[@]}")
  fi
  nice -n "$NICE" taskset -c 1 "$LOAD" "${args[@]}" --url "$URLS" --json --quiet \
    --server-pid "$SERVER_PIDS" >"$OUT/last.json" 2>>"$OUT/load.log" &
  LOAD_PID=$!
  wait "$LOAD_PID" || true
  LOAD_PID=""
  json=$(tr -d '\n' <"$OUT/last.json")
  [[ -z $json ]] && json='{}'
  if [[ $mode == cluster ]]; then
    after=$(redis_sample)
    read -r p0 a0 c0 <<<"$before"
    read -r p1 a1 c1 <<<"$after"
    redis_json=$(awk -v p="$((p1 - p0))" -v a="$((a1 - a0))" -v c0="$c0" -v c1="$c1" \
      'BEGIN { printf "{\"pub_calls\":%d,\"all_calls\":%d,\"cpu_s\":%.4f}", p, a, c1 - c0 }')
  fi
  stop_servers
  local limit=50
  [[ $row == "$ROW_ROOMS"* ]] && limit=500
  printf '{"server":"%s","row":"%s","kind":"%s","step":%s,"run":%s,"p99_limit_ms":%s,"load":%s,"redis":%s}\n' \
    "$mode" "$row" "$kind" "$step" "$run" "$limit" "$json" "$redis_json" >>"$RAW"
  python3 - "$json" "$redis_json" <<'EOF' >&2
import json, sys
j = json.loads(sys.argv[1] or "{}")
r = json.loads(sys.argv[2])
if not j: print("    (no result)"); sys.exit()
line = "    ratio %.4f  deliv/s %9.0f  p99 %8.1f ms  errors %s" % (
  j.get("delivery_ratio", 0), j.get("deliveries_per_s", 0),
  j.get("latency_us", {}).get("p99", 0) / 1000, j.get("errors"))
pubs = j.get("published_all") or 0
if r and pubs:
  line += "  redis: %.2f pub cmds/pub, %.2f cmds/pub, %.1f us CPU/pub" % (
    r["pub_calls"] / pubs, r["all_calls"] / pubs, 1e6 * r["cpu_s"] / pubs)
print(line)
EOF
}

cell() {  # MODE ROW KIND STEP HISTORY -- generator args
  local mode=$1 row=$2 kind=$3 step=$4 history=$5 r
  shift 6
  for ((r = 1; r <= RUNS; ++r)); do
    echo "  $mode | $row | step $step | run $r" >&2
    run_one "$mode" "$row" "$kind" "$step" "$r" "$history" -- "$@"
  done
}

ladder() {  # MODE ROW STEPS ARGS_FN
  local mode=$1 row=$2 steps=$3 fn=$4 step verdict
  for step in $steps; do
    # shellcheck disable=SC2046
    cell "$mode" "$row" ladder "$step" 0 -- $($fn "$step")
    verdict=$($TABLE verdict "$RAW" "$row" "$mode" "$step")
    [[ $verdict == pass* ]] || break
  done
}

# Publisher on node 1, subscribers on nodes 2 and 3 (one node: all on it).
args_x() { echo "fanout --rooms 1 --subs 1000 --pubs 1 --rate $(($1 / 1000)) --duration $DUR --warmup $WARM --drain $DRAIN --pub-nodes 1 --sub-nodes 2,3"; }
args_rooms() { echo "fanout --rooms 1000 --subs 10000 --pubs 10 --rate $(($1 / 10)) --duration $DUR --warmup $((WARM + 3)) --drain $DRAIN --ramp 5000"; }

ROW_X="1 room × 1000 subs, publisher on node 1, subscribers on nodes 2–3"
ROW_XF="$ROW_X, fixed $((FIXED / 1000))k deliveries/s"
ROW_XH="$ROW_X, history room, fixed $((FIXED / 1000))k deliveries/s"
ROW_ROOMS="1000 rooms × 10 subs, 10 pubs, every room on every node"

START=$(date +%s)
{
  echo "# bench/cluster.sh $(date -u +%Y-%m-%dT%H:%MZ) quick=$QUICK runs=$RUNS nodes=$NODES shards=$SHARDS commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "# $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(redis-server --version | cut -d' ' -f1-3)"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg); servers and Redis on CPU 0, generator on CPU 1, nice $NICE"
} | tee "$OUT/header.txt" >&2

for mode in one-node cluster; do
  echo "== $mode" >&2
  ladder "$mode" "$ROW_X" "$LADDER_1K" args_x
  # shellcheck disable=SC2046
  cell "$mode" "$ROW_XF" point "$FIXED" 0 -- $(args_x "$FIXED")
  # shellcheck disable=SC2046
  cell "$mode" "$ROW_XH" point "$FIXED" 1 -- $(args_x "$FIXED")
  ladder "$mode" "$ROW_ROOMS" "$LADDER_ROOMS" args_rooms
done

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - START)) s" |
  tee -a "$OUT/header.txt" >&2
{
  cat "$OUT/header.txt"
  echo
  python3 "$ROOT/bench/cluster_table.py" "$RAW" "$RUNS"
} | tee "$OUT/table.md"
echo "raw JSON lines: $RAW" >&2
