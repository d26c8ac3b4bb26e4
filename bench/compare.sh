#!/usr/bin/env bash
# Peer comparison: the same ringcast-load scenarios against ringcast, against its own
# speed-of-light server (ringcast-sol, bench/sol/: the fan-out path alone, ringcast's limit) and
# against minimal equivalents on Node's `ws`, on socket.io and on uWebSockets.js (bench/peers/),
# one server at a time, on the same port, the server pinned to CPU 0 and the generator to CPU 1.
# Prints one markdown table (rows scenarios, columns servers, cells
# `deliveries/s · p99 ms · server CPU s per 1M deliveries · generator's busiest thread %`) and a
# table of ratios ringcast/peer (ringcast/sol first: ringcast as a fraction of its limit).
# Raw JSON lines (one per generator run) go to $BUILD/compare-<time>/raw.jsonl.
#
# usage: bench/compare.sh [--quick] [--runs N] [--port P]
#                         [--servers "ringcast sol ws socketio uws"] [--rows "1k 10k ..."]
#                         [--ladder-1k "STEPS"] [--ladder-scale "STEPS"] [--build DIR] [--no-quota] [--no-full]
#                         [--scaling] [--churn] [--base DIR] [--procs N]
#   --quick     a ~5 minute subset: 2 s windows, shorter ladders
#   --runs N    runs per cell; each cell is the median (default 3)
#   --rows L    only these rows (default "1k 10k rooms idle churn overload scaling"): 1k = 1 room
#               x 1000 subs, 10k = 1 room x 10000, rooms = 1000 rooms x 10, idle, churn, overload
#               = 3x and 10x ringcast's best 1k step (the 1k ladder runs first if it is not
#               selected), scaling = the shard-scaling pair of --scaling, run last
#   --ladder-1k S  the steps of the 1k ladder, deliveries/s (e.g. "4000000 6000000")
#   --ladder-scale S  the steps of the scaling pair's ladder, deliveries/s
#   --no-quota  skip every half-core row (server under a cgroup cpu quota of 5 ms per 10 ms)
#   --no-full   skip every full-core row (only the half-core ones)
#   --nice N    niceness of server and generator (default -10: the machine is shared, and
#               other people's builds on the pinned cores otherwise dominate p99; 0 = off)
#   --scaling   only the shard-scaling pair: 1000 rooms x 10 against ringcast with one shard
#               held to 0.3 core and with two shards held to 0.6 core (both on CPU 0, so the
#               generator keeps CPU 1), the two alternating run by run on a finer ladder,
#               then both at a fixed 3M deliveries/s demanded (saturation); prints each one's
#               highest passing step and saturated rate, the ratios, and the ratio of CPU per
#               delivery at the highest step both passed
#   --churn     only the churn rows, full core and half a core, ringcast and uWS (and
#               ringcast-base with --base) alternating run by run at each step
#   --base DIR  a build folder of another ringcast (e.g. the commit before a change), measured
#               as server "ringcast-base" beside ringcast in --scaling and --churn
#   --procs N   generator processes on the churn rows (default 2, both on the generator's
#               core: one io_uring thread ran at 83 % at 12k cycles/s)
# Needs root for the cgroup quota (v2 cpu.max or v1 cpu.cfs_quota_us); without it those rows
# are skipped with a note. All traffic is to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-peers
PORT=19500
RUNS=3
QUICK=0
QUOTA=1
NICE=-10
SERVERS="ringcast sol ws socketio uws"
ROWS="1k 10k rooms idle churn overload scaling"
FULL=1
LADDER_1K_SET=""
LADDER_SCALE_SET=""
SCALING=0
CHURN_ONLY=0
BASE_BUILD=""
CHURN_PROCS=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --port) PORT=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --rows) ROWS=$2; shift ;;
    --ladder-1k) LADDER_1K_SET=$2; shift ;;
    --ladder-scale) LADDER_SCALE_SET=$2; shift ;;
    --no-quota) QUOTA=0 ;;
    --no-full) FULL=0 ;;
    --nice) NICE=$2; shift ;;
    --scaling) SCALING=1 ;;
    --churn) CHURN_ONLY=1 ;;
    --base) BASE_BUILD=$(cd "$2" && pwd); shift ;;
    --procs) CHURN_PROCS=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

RINGCAST=$BUILD/tools/ringcast
SOL=$BUILD/bench/ringcast-sol
LOAD=$BUILD/tools/ringcast-load
TABLE="python3 $ROOT/bench/compare_table.py"
OUT=$BUILD/compare-$(date +%Y%m%d-%H%M%S)
RAW=$OUT/raw.jsonl

# The generator's receive buffer per subscriber on the fan-out rows (see args_1k below): 1000
# subscribers get RCVBUF_1K each, 10000 get RCVBUF_10K, the same total.
RCVBUF_1K=262144
RCVBUF_10K=65536
# The kernel would cap --rcvbuf silently at net.core.rmem_max (212992 on a stock kernel);
# ringcast-load refuses that, so say it once here.
RMEM_MAX=$(cat /proc/sys/net/core/rmem_max)
if ((RMEM_MAX < RCVBUF_1K)); then
  echo "compare.sh: net.core.rmem_max is $RMEM_MAX, below the $RCVBUF_1K the fan-out rows'" \
    "--rcvbuf needs; raise it: sysctl -w net.core.rmem_max=$RCVBUF_1K" >&2
  exit 2
fi

# --- build and install ------------------------------------------------------------------------
# RINGCAST_BENCH=ON for ringcast-sol (bench/CMakeLists.txt); only the three targets are built.
if [[ ! -f $BUILD/build.ninja ]] || grep -q '^RINGCAST_BENCH:BOOL=OFF' "$BUILD/CMakeCache.txt"; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGCAST_BENCH=ON \
    -DRINGCAST_TESTS=OFF >/dev/null
fi
ninja -C "$BUILD" ringcast ringcast-load ringcast-sol >/dev/null  # always: a stale binary measures old code
"$ROOT/bench/peers/install.sh" >/dev/null
mkdir -p "$OUT"
: >"$RAW"

# --- timing ----------------------------------------------------------------------------------
if ((QUICK)); then
  DUR=2; WARM=1; DRAIN=1
  LADDER_1K="100000 250000 500000 1000000 2000000"
  LADDER_10K="100000 250000 500000 1000000"
  LADDER_ROOMS="50000 100000 250000"
  LADDER_CHURN="500 1000 2000 4000"
  LADDER_CHURN_HALF="1000 2000 4000"
else
  DUR=4; WARM=1; DRAIN=2
  LADDER_1K="100000 250000 500000 1000000 2000000 3000000 4000000 5000000 6000000 7000000 8000000"
  LADDER_10K="100000 250000 500000 1000000 2000000 3000000 4000000"
  LADDER_ROOMS="100000 250000 500000 1000000 2000000 3000000 4000000"
  LADDER_CHURN="1000 2000 4000 8000 12000 16000 20000 24000 28000 32000 40000"
  LADDER_CHURN_HALF="1000 2000 3000 4000 5000 6000 8000 10000 12000 14000 16000 18000 20000 22000
    24000 26000 28000 30000 32000"
fi
# The scaling pair's ladder (deliveries/s): fine steps, since the ratio is read off them.
# Two shards at 0.6 core passed every step of a ladder that ended at 600k, so it goes on to 2M.
LADDER_SCALE="100000 200000 300000 400000 500000 600000 700000 800000 900000 1000000 1100000
  1200000 1400000 1600000 1800000 2000000"
SCALE_SATURATE=3000000  # the demand of the saturation pair, above what either sustains

[[ -n $LADDER_1K_SET ]] && LADDER_1K=$LADDER_1K_SET
[[ -n $LADDER_SCALE_SET ]] && LADDER_SCALE=$LADDER_SCALE_SET
want() { [[ " $ROWS " == *" $1 "* ]]; }
# --- processes and cleanup -------------------------------------------------------------------
SERVER_PID=""
LOAD_PID=""
CGROUP=""
cleanup() {
  [[ -n $LOAD_PID ]] && kill "$LOAD_PID" 2>/dev/null || true
  stop_server
  if [[ -n $CGROUP && -d $CGROUP ]]; then rmdir "$CGROUP" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
  [[ -z $SERVER_PID ]] && return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

port_open() { ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q LISTEN; }

# The cgroup for "server held to half a core": v2 (cpu.max) or v1 (cpu.cfs_quota_us). The
# period is 10 ms, not the default 100 ms: with 100 ms a server that spends its 50 ms is frozen
# for the next 50 ms, so every server's p99 passes 50 ms at any rate and the rows would measure
# the scheduler's granularity instead of the server.
setup_cgroup() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    grep -qw cpu /sys/fs/cgroup/cgroup.controllers || return 1
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control ||
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || return 1
    CGROUP=/sys/fs/cgroup/rcbench-$PORT
    mkdir -p "$CGROUP" 2>/dev/null && set_quota 5000 && cgroup_weight || return 1
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    CGROUP=/sys/fs/cgroup/cpu/rcbench-$PORT
    mkdir -p "$CGROUP" 2>/dev/null && echo 10000 >"$CGROUP/cpu.cfs_period_us" 2>/dev/null &&
      set_quota 5000 && cgroup_weight || return 1
  else
    return 1
  fi
}
# The cgroup's weight matches the server's niceness. A task's nice value only ranks it inside its
# cgroup: the group itself competes with everything else on the core (other people's builds on
# this shared machine) at the default weight, that of one nice-0 task. So with the default a
# quota of 0.6 core gave ~0.5 core whenever the machine was busy, and two shards held to 0.6
# core measured 0.6x-1.55x one shard at 0.3 core instead of the 2x the quota allows.
cgroup_weight() {
  local shares
  shares=$(awk -v n="$NICE" 'BEGIN { printf "%d", 1024 * 1.25 ^ (-n) }')  # ~ the kernel's table
  if [[ -f $CGROUP/cpu.weight ]]; then
    echo $(((shares * 100 + 512) / 1024)) >"$CGROUP/cpu.weight" 2>/dev/null
  else
    echo "$shares" >"$CGROUP/cpu.shares" 2>/dev/null
  fi
}
# set_quota US: the cgroup's CPU time per 10 ms period (5000 = half a core).
set_quota() {
  if [[ -f $CGROUP/cpu.max ]]; then
    echo "$1 10000" >"$CGROUP/cpu.max" 2>/dev/null
  else
    echo "$1" >"$CGROUP/cpu.cfs_quota_us" 2>/dev/null
  fi
}
if ((SCALING || CHURN_ONLY)) && ((QUOTA == 0)); then
  echo "compare.sh: --scaling and --churn need the cgroup quota" >&2
  exit 2
fi
if ((QUOTA)) && ! setup_cgroup; then
  echo "note: no writable cgroup cpu controller; half-core rows skipped" >&2
  QUOTA=0
fi

# start_server NAME QUOTED(0|1). ringcast-1sh and ringcast-2sh are ringcast with one and two
# shards, both on CPU 0 (--no-pin: the shards share the cgroup's quota, not the cores);
# ringcast-base[-1sh|-2sh] the same from --base's build.
start_server() {
  local name=$1 quota=$2 bin=$RINGCAST shards=1
  [[ $name == ringcast-base* ]] && bin=$BASE_BUILD/tools/ringcast
  [[ $name == *-2sh ]] && shards=2
  case $name in
    ringcast|ringcast-base) nice -n "$NICE" taskset -c 0 "$bin" --listen "127.0.0.1:$PORT" \
                --shards 1 --commands-per-second 0 --drain-ms 100 >>"$OUT/server-$name.log" 2>&1 & ;;
    ringcast*-[12]sh) nice -n "$NICE" taskset -c 0 "$bin" --listen "127.0.0.1:$PORT" \
                --shards "$shards" --no-pin --commands-per-second 0 --drain-ms 100 \
                >>"$OUT/server-$name.log" 2>&1 & ;;
    sol) nice -n "$NICE" taskset -c 0 "$SOL" --port "$PORT" >>"$OUT/server-$name.log" 2>&1 & ;;
    ws|socketio|uws) nice -n "$NICE" taskset -c 0 node "$ROOT/bench/peers/${name}_server.js" --port "$PORT" \
                >>"$OUT/server-$name.log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  if ((quota)); then echo "$SERVER_PID" >"$CGROUP/cgroup.procs"; fi
  for _ in $(seq 100); do port_open && return 0; sleep 0.1; done
  echo "compare.sh: $name did not listen on $PORT" >&2
  return 1
}

# The p99 bound of a passing ladder step, per row (ms). On this machine (a 2-vCPU VM) a send
# of one small frame to one of 10000 loopback sockets costs 3-7 µs of kernel time, most of it
# the receiver's TCP work and its cross-CPU wakeup, so one publication to a room of 10000 takes
# 60-75 ms to fan out (p99 ~70 ms at 10 publications/s, for every server), and 1000 rooms of 10
# are kernel-bound at ~250k/s for ringcast and uWS alike (p99 130-180 ms). Those two rows use
# 500 ms, so they still rank the servers by what they sustain.
p99_limit() { [[ $1 == "$ROW_10K"* || $1 == "$ROW_ROOMS"* ]] && echo 500 || echo 50; }

# The kernel's TCP counters that tell a run's stalls apart (drops, pruned receive queues, window
# probes, retransmissions), zeroed by nstat -n before each run; and for ringcast its backpressure
# counters from /metrics. A slow run can then be read from the raw lines themselves.
nstat_reset() { command -v nstat >/dev/null && nstat -n >/dev/null 2>&1 || true; }
run_counters() {
  local out="" name value
  if command -v nstat >/dev/null; then
    while read -r name value _; do
      out+="\"$name\":$value,"
    done < <(nstat -z 2>/dev/null | grep -E '^(TcpExtTCPRcvQDrop|TcpExtRcvPruned|TcpExtTCPOFODrop|TcpExtTCPWinProbe|TcpRetransSegs|TcpExtTCPZeroWindowDrop) ')
  fi
  if [[ $1 == ringcast* ]]; then
    while read -r name value; do
      out+="\"$name\":$value,"
    done < <(curl -s --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null |
      sed -n -E 's/^ringcast_(publishers_paused|paused_ms|drained_while_paused|slow_consumer_closes)_total\{shard="all"\} ([0-9]+)$/\1 \2/p')
  fi
  echo "{${out%,}}"
}

# run_one SERVER ROW KIND STEP RUN QUOTA -- generator args...
run_one() {
  local server=$1 row=$2 kind=$3 step=$4 run=$5 quota=$6
  shift 7
  local dialect=native
  [[ $server == socketio ]] && dialect=socketio
  while port_open; do sleep 0.2; done  # the previous server is gone
  start_server "$server" "$quota" || return 0
  nstat_reset
  local json
  nice -n "$NICE" taskset -c 1 "$LOAD" "$@" --url "ws://127.0.0.1:$PORT/ws" --dialect "$dialect" \
    --json --quiet --server-pid "$SERVER_PID" >"$OUT/last.json" 2>>"$OUT/load.log" &
  LOAD_PID=$!
  wait "$LOAD_PID" || true
  LOAD_PID=""
  json=$(tr -d '\n' <"$OUT/last.json")
  local counters
  counters=$(run_counters "$server")
  stop_server
  [[ -z $json ]] && json='{}'
  printf '{"server":"%s","row":"%s","kind":"%s","step":%s,"run":%s,"quota":%s,"p99_limit_ms":%s,"counters":%s,"load":%s}\n' \
    "$server" "$row" "$kind" "$step" "$run" "$quota" "$(p99_limit "$row")" "$counters" "$json" >>"$RAW"
  python3 - "$json" <<'EOF' >&2
import json, sys
j = json.loads(sys.argv[1] or "{}")
if not j: print("    (no result)"); sys.exit()
s = j.get("server") or {}
print("    %-9s ratio %.4f  deliv/s %9.0f  recv/s %9.0f  p99 %8.1f ms  cpu/1M %s  gen %.0f%%  errors %s" % (
  "", j.get("delivery_ratio", 0), j.get("deliveries_per_s", 0), j.get("received_per_s", 0),
  j.get("latency_us", {}).get("p99", 0) / 1000, s.get("cpu_s_per_m_deliveries", "-"),
  j.get("generator", {}).get("busiest_thread_pct", 0), j.get("errors")))
EOF
}

# cell SERVER ROW KIND STEP QUOTA -- generator args...: RUNS runs of one step
cell() {
  local server=$1 row=$2 kind=$3 step=$4 quota=$5
  shift 6
  local r
  for ((r = 1; r <= RUNS; ++r)); do
    echo "  $server | $row | step $step | run $r" >&2
    run_one "$server" "$row" "$kind" "$step" "$r" "$quota" -- "$@"
  done
}

# ladder SERVER ROW KIND QUOTA STEPS ARGS_FN: climbs until a step fails (median ratio < 0.99 or
# p99 at or over the row's limit). ARGS_FN STEP prints the generator arguments for a step. Sets LADDER_GENBOUND.
LADDER_GENBOUND=0
ladder() {
  local server=$1 row=$2 kind=$3 quota=$4 steps=$5 fn=$6 step verdict
  LADDER_GENBOUND=0
  for step in $steps; do
    # shellcheck disable=SC2046
    cell "$server" "$row" "$kind" "$step" "$quota" -- $($fn "$step")
    verdict=$($TABLE verdict "$RAW" "$row" "$server" "$step")
    [[ $verdict == *genbound* ]] && LADDER_GENBOUND=1
    [[ $verdict == pass* ]] || break
  done
}

# Fan-out rows fix the generator's receive buffers (--rcvbuf): autotuned, the buffers of 1000
# subscribers outpaced at 3x overload grew until the kernel's TCP memory was under pressure
# (net.ipv4.tcp_mem, ~1.5 GB here), and the kernel pruned and dropped segments; the 200 ms
# retransmission stalls that followed made the full-core 3x row bimodal for ringcast and sol alike
# (bench/README.md). 256 KiB (512 KiB with the kernel's share) is ~250 ms of a subscriber's
# deliveries at the ceiling; the 10000-subscriber rows take 64 KiB each, the same total.
args_1k() { echo "fanout --rooms 1 --subs 1000 --pubs 1 --rate $(($1 / 1000)) --duration $DUR --warmup $WARM --drain $DRAIN --rcvbuf $RCVBUF_1K"; }
# With 10000 fresh connections every server (ringcast and uWS alike) runs slow for the first
# ~2 s of publishing (p99 80-120 ms against 2-30 ms after, at 100k/s); those rows warm up 3 s.
args_10k() { echo "fanout --rooms 1 --subs 10000 --pubs 1 --rate $(($1 / 10000)) --duration $DUR --warmup $((WARM + 2)) --drain $DRAIN --ramp 5000 --rcvbuf $RCVBUF_10K"; }
args_rooms() { echo "fanout --rooms 1000 --subs 10000 --pubs 10 --rate $(($1 / 10)) --duration $DUR --warmup $((WARM + 2)) --drain $DRAIN --ramp 5000 --rcvbuf $RCVBUF_10K"; }
args_churn() { echo "churn --rate $1 --conns 1000 --duration $DUR --warmup $WARM --drain $DRAIN --procs $CHURN_PROCS"; }

ROW_1K="1 room × 1000 subs"
ROW_10K="1 room × 10000 subs"
ROW_ROOMS="1000 rooms × 10 subs, 10 pubs"
ROW_IDLE="10000 idle conns (RSS/conn)"
ROW_CHURN="churn (cycles/s, 1000 concurrent)"

START=$(date +%s)
{
  echo "# compare.sh $(date -u +%Y-%m-%dT%H:%MZ) quick=$QUICK runs=$RUNS servers=\"$SERVERS\""
  echo "# $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg); server and generator at nice $NICE"
} | tee "$OUT/header.txt" >&2

# paired_ladder ROW KIND ARGS_FN STEPS SERVER:QUOTA_US...: the servers climb the same ladder
# side by side, alternating run by run at each step (so a noisy minute hits all of them), each
# until one of its steps fails. QUOTA_US is the cgroup's CPU time per 10 ms, 0 = no quota.
paired_ladder() {
  local row=$1 kind=$2 fn=$3 steps=$4 step r spec name us
  shift 4
  local -A up=()
  for spec in "$@"; do up[${spec%%:*}]=1; done
  for step in $steps; do
    for ((r = 1; r <= RUNS; ++r)); do
      for spec in "$@"; do
        name=${spec%%:*} us=${spec##*:}
        ((${up[$name]})) || continue
        ((us)) && set_quota "$us"
        echo "  $name | $row | step $step | run $r" >&2
        # shellcheck disable=SC2046
        run_one "$name" "$row" "$kind" "$step" "$r" "$((us > 0))" -- $($fn "$step")
      done
    done
    local any=0
    for spec in "$@"; do
      name=${spec%%:*}
      ((${up[$name]})) || continue
      if [[ $($TABLE verdict "$RAW" "$row" "$name" "$step") == pass* ]]; then any=1; else up[$name]=0; fi
    done
    ((any)) || break
  done
  set_quota 5000
}

# The scaling pair: one shard at 0.3 core against two shards at 0.6 core, 1000 rooms x 10, on
# a finer ladder than the other rows (the ratio is read off it).
CHURN_FIXED=3000
scaling() {
  local row="$ROW_ROOMS, 1 shard at 0.3 core vs 2 at 0.6"
  local servers=(ringcast-1sh:3000 ringcast-2sh:6000) pair
  [[ -n $BASE_BUILD ]] && servers+=(ringcast-base-1sh:3000 ringcast-base-2sh:6000)
  local sat="$ROW_ROOMS, $((SCALE_SATURATE / 1000))k demanded, 1 shard at 0.3 core vs 2 at 0.6"
  paired_ladder "$row" ladder args_rooms "$LADDER_SCALE" "${servers[@]}"
  # Saturation: what each delivers when far more is demanded (the rate received in the window).
  paired_ladder "$sat" fixed args_rooms "$SCALE_SATURATE" "${servers[@]}"
  for pair in "ringcast-1sh ringcast-2sh" "ringcast-base-1sh ringcast-base-2sh"; do
    [[ $pair == ringcast-base* && -z $BASE_BUILD ]] && continue
    # shellcheck disable=SC2086
    $TABLE scaling "$RAW" "$row" $pair "$sat"
    echo
  done | tee "$OUT/scaling.md"
  echo "raw JSON lines: $RAW" >&2
}
if ((SCALING)); then
  scaling
  exit 0
fi

# Churn alone: ringcast against uWS (and the base build), full core and half a core.
if ((CHURN_ONLY)); then
  full=(ringcast:0 uws:0) half=(ringcast:5000 uws:5000)
  if [[ -n $BASE_BUILD ]]; then full+=(ringcast-base:0) half+=(ringcast-base:5000); fi
  # CPU per cycle at one modest rate first: it holds however loaded the machine is, while the
  # ladders' 50 ms p99 bound fails on every server once the machine's own latency passes it.
  paired_ladder "$ROW_CHURN at $CHURN_FIXED/s, server at 0.5 core" churn args_churn "$CHURN_FIXED" \
    "${half[@]}"
  paired_ladder "$ROW_CHURN, server at 0.5 core" churn args_churn "$LADDER_CHURN_HALF" "${half[@]}"
  paired_ladder "$ROW_CHURN" churn args_churn "$LADDER_CHURN" "${full[@]}"
  $TABLE table "$RAW" | tee "$OUT/table.md"
  echo "raw JSON lines: $RAW" >&2
  exit 0
fi

declare -A GENBOUND=()
# The overload rows need ringcast's best 1k step.
if ((FULL)) && { want 1k || want overload; }; then ROW1K_FULL=1; else ROW1K_FULL=0; fi
for server in $SERVERS; do
  ((FULL)) || break
  echo "== $server" >&2
  if ((ROW1K_FULL)) && { want 1k || [[ $server == ringcast ]]; }; then
    ladder "$server" "$ROW_1K" ladder 0 "$LADDER_1K" args_1k
    GENBOUND["$ROW_1K|$server"]=$LADDER_GENBOUND
  fi
  if want 10k; then
    ladder "$server" "$ROW_10K" ladder 0 "$LADDER_10K" args_10k
    GENBOUND["$ROW_10K|$server"]=$LADDER_GENBOUND
  fi
  if want rooms; then
    ladder "$server" "$ROW_ROOMS" ladder 0 "$LADDER_ROOMS" args_rooms
    GENBOUND["$ROW_ROOMS|$server"]=$LADDER_GENBOUND
  fi
  if want idle; then
    cell "$server" "$ROW_IDLE" idle 10000 0 -- idle --conns 10000 --ramp 10000 --duration 2 --warmup 0
  fi
  want churn && ladder "$server" "$ROW_CHURN" churn 0 "$LADDER_CHURN" args_churn
done

# overload ROW_BASE QUOTA: 3x and 10x ringcast's highest passing rate on ROW_BASE (the 1000-
# subscriber room), the same demand for every server. Cells show the rate received during the
# window. ringcast's memory is bounded by publisher backpressure and the slow-consumer limit.
overload() {
  local base=$1 quota=$2 best demand mult row server
  best=$($TABLE best "$RAW" "$base" ringcast)
  [[ $best == 0 ]] && best=${LADDER_1K%% *}
  for mult in 3 10; do
    demand=$((best * mult))
    row="$base, ${mult}× ringcast max ($((demand / 1000))k demanded)"
    # Servers alternate run by run, so a noisy minute hits all of them alike.
    for ((r = 1; r <= RUNS; ++r)); do
      for server in $SERVERS; do
        echo "  $server | $row | run $r" >&2
        # shellcheck disable=SC2046
        run_one "$server" "$row" fixed "$demand" "$r" "$quota" -- $(args_1k "$demand")
      done
    done
  done
}
((FULL)) && want overload && overload "$ROW_1K" 0

# Half a core: the one-room and many-room rows always (ringcast against uWS
# with the server as the bottleneck), the 10000-subscriber row when the generator was the
# bottleneck; then the overload rows against the half-core maximum.
if ((QUOTA)); then
  for row in "$ROW_1K" "$ROW_10K" "$ROW_ROOMS"; do
    case $row in
      "$ROW_1K") want 1k || want overload || continue ;;
      "$ROW_10K") want 10k || continue ;;
      *) want rooms || continue ;;
    esac
    any=0
    [[ $row != "$ROW_10K" ]] && any=1
    for server in $SERVERS; do [[ ${GENBOUND["$row|$server"]:-0} == 1 ]] && any=1; done
    ((any)) || continue
    case $row in
      "$ROW_1K") steps=$LADDER_1K fn=args_1k ;;
      "$ROW_10K") steps=$LADDER_10K fn=args_10k ;;
      *) steps=$LADDER_ROOMS fn=args_rooms ;;
    esac
    for server in $SERVERS; do  # every server, so the row has ratios
      ladder "$server" "$row, server at 0.5 core" ladder 1 "$steps" "$fn"
    done
  done
  want overload && overload "$ROW_1K, server at 0.5 core" 1
  # Churn: the generator's connects cost it as much as the server's accepts, so at a full core
  # the row mostly measures the kernel and the generator; at half a core the server is the limit.
  for server in $SERVERS; do
    want churn || break
    ladder "$server" "$ROW_CHURN, server at 0.5 core" churn 1 "$LADDER_CHURN_HALF" args_churn
  done
fi

# The shard-scaling pair last: it needs the quota, and its table follows the others.
if ((QUOTA)) && want scaling; then scaling; fi

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - START)) s" |
  tee -a "$OUT/header.txt" >&2
{
  cat "$OUT/header.txt"
  echo
  echo "Cells: deliveries/s · p99 ms · server CPU s per 1M deliveries. Ladder rows show the highest"
  echo "step with ≥99% delivered and p99 < 50 ms (500 ms on the two rows with 10000 subscribers), median of"
  echo "$RUNS runs; churn cells are cycles/s (connect+upgrade+sub+close). Overload rows show the rate"
  echo "received during the window (every frame, whenever published), server CPU s per 1M frames"
  echo "received in it and server RSS at the end."
  echo
  $TABLE table "$RAW"
  if [[ -f $OUT/scaling.md ]]; then
    echo
    echo "Shard scaling (ringcast with one shard held to 0.3 core against two shards held to 0.6):"
    echo
    cat "$OUT/scaling.md"
  fi
} | tee "$OUT/table.md"
echo "raw JSON lines: $RAW" >&2
