#!/usr/bin/env bash
# Server RSS per idle subscribed connection, at any count (bench/README.md, Idle memory).
#
#   bench/scripts/idle_rss.sh [--bin DIR] [--conns N] [--servers K] [--runs R] [--hold S]
#                             [--ramp X]
#
# Starts K ringcast processes (--shards 1 each, as compare.sh runs it) on ports 19600.., opens
# N/K idle WebSocket connections to each with one `ringcast-load idle` per server, all at once,
# at X new connections per second in all (default 10000, split between the generators),
# and reports (sum of RSS at the end - sum of RSS before) / connections opened, one JSON line per
# run and the median of R runs last. Every connection is welcomed and subscribed to its
# personal room "@anon-..." before the window starts.
#
# Why K processes: a process may hold at most 20000 open files on this machine and the hard
# limit cannot be raised here (no CAP_SYS_RESOURCE; `prlimit --nofile=200000` fails), so 100k
# connections take at least 6 servers (and 6 generators). Each generator binds its sockets to
# source addresses 127.0.0.2..127.0.0.251 (ringcast-load's loopback spread), so no source
# address runs out of ephemeral ports. RSS is the servers' VmRSS; kernel socket buffers are not
# in it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/build/tools"
conns=10000
servers=1
runs=3
hold=2
ramp=10000
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "idle_rss.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in ringcast ringcast-load; do
  [[ -x $bin/$tool ]] || { echo "idle_rss.sh: no $bin/$tool (build it, or pass --bin)" >&2; exit 2; }
done
per=$((conns / servers))
if ((per < 1 || per > 19000)); then
  echo "idle_rss.sh: $per connections per server; a process holds at most ~19000 here: raise --servers" >&2
  exit 2
fi
base_port=19600
out=$(mktemp -d /tmp/idle_rss.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'cleanup; rm -rf "$out"' EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

one_run() {
  local run=$1 i port loads=()
  pids=()
  for ((i = 0; i < servers; ++i)); do
    port=$((base_port + i))
    while port_open "$port"; do sleep 0.2; done  # the previous run's server is gone
    "$bin/ringcast" --listen "127.0.0.1:$port" --shards 1 --commands-per-second 0 \
      --drain-ms 100 >>"$out/server-$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < servers; ++i)); do
    for _ in $(seq 100); do port_open $((base_port + i)) && break; sleep 0.1; done
  done
  sleep 0.5  # settled: the RSS before is read by each generator at its start
  for ((i = 0; i < servers; ++i)); do
    "$bin/ringcast-load" idle --conns "$per" --ramp $((ramp / servers)) --duration "$hold" --warmup 0 \
      --url "ws://127.0.0.1:$((base_port + i))/ws" --json --quiet --server-pid "${pids[$i]}" \
      >"$out/load-$i.json" 2>>"$out/load.log" &
    loads+=($!)
  done
  for i in "${loads[@]}"; do wait "$i" || true; done
  cleanup
  python3 - "$run" "$((per * servers))" "$servers" "$out" <<'EOF'
import json, sys
run, planned, servers, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
before = end = opened = errors = 0
for i in range(servers):
    j = json.load(open(f"{out}/load-{i}.json"))
    s = j["server"]
    before += s["rss_before_bytes"]; end += s["rss_end_bytes"]
    opened += j["connections"]; errors += j["errors"]
print(json.dumps({"run": run, "connections": opened, "planned": planned, "servers": servers,
                  "errors": errors, "rss_before_bytes": before, "rss_end_bytes": end,
                  "bytes_per_connection": round((end - before) / max(opened, 1), 1)}))
EOF
}

for ((r = 1; r <= runs; ++r)); do one_run "$r" | tee -a "$out/runs.jsonl"; done
python3 - "$out/runs.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# A run whose generators gave up before every connection opened does not count, unless none did.
full = [r for r in rows if r["connections"] == r["planned"] and r["errors"] == 0] or rows
per = [r["bytes_per_connection"] for r in full]
print(json.dumps({"connections": rows[0]["planned"], "servers": rows[0]["servers"],
                  "runs": len(rows), "complete_runs": len(full), "bytes_per_connection_median": statistics.median(per),
                  "bytes_per_connection_runs": per}))
EOF
