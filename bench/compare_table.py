#!/usr/bin/env python3
"""Helper of bench/compare.sh: reads the raw JSON lines it writes and
  verdict RAW ROW SERVER STEP  -> prints "pass|fail genbound|ok" for one ladder step (medians)
  best RAW ROW SERVER          -> prints the highest passing step (or 0)
  table RAW                    -> prints the markdown tables (results, then ratios ringcast/peer,
                                  ringcast/sol first: ringcast as a fraction of its own limit,
                                  the speed-of-light server bench/sol/)
  scaling RAW ROW ONE TWO [SAT] -> the shard-scaling pair: each one's highest passing step, their
                                  ratio, and CPU per delivery at the highest step both passed;
                                  with SAT, the row where both were saturated, and that ratio

Each raw line: {"server","row","kind","step","run","quota","p99_limit_ms","load":<ringcast-load
--json>}.
kind: ladder (pass = ratio >= 0.99 and p99 under the line's p99_limit_ms, default 50; the cell
is the highest passing step), fixed (overload: one cell per row, rated by frames received in the
window), idle (RSS per connection), churn (a ladder in cycles/s).
"""
import json
import statistics
import sys
from collections import OrderedDict, defaultdict

RATIO_MIN = 0.99
GENBOUND_PCT = 90
SERVERS = ["ringcast", "sol", "ws", "socketio", "uws", "ringcast-base"]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def metrics(lines):
    """Median of each metric over the runs of one (row, server, step)."""
    fixed = bool(lines) and lines[0].get("kind") == "fixed"
    def med(fn):
        vals = [fn(l["load"]) for l in lines]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def srv(key):
        return lambda j: (j.get("server") or {}).get(key)

    return {
        # Under overload, publications wait in the publisher's own queues (backpressure), so
        # what the subscribers received per second is the delivered rate.
        "rate": med(lambda j: j.get("received_per_s" if fixed else "deliveries_per_s")),
        "p99_limit_us": 1000 * (lines[0].get("p99_limit_ms", 50) if lines else 50),
        "demanded": med(lambda j: j.get("demanded_deliveries_per_s")),
        "ratio": med(lambda j: j.get("delivery_ratio")),
        "p99": med(lambda j: j["latency_us"]["p99"] if j.get("latency_us", {}).get("count") else None),
        # Under overload most measured messages arrive after the window, so the CPU of the
        # window is divided by the frames received in it instead.
        "cpu": med(cpu_per_received if fixed else srv("cpu_s_per_m_deliveries")),
        "rss_conn": med(srv("rss_per_conn_bytes")),
        "rss_end": med(srv("rss_end_bytes")),
        "busiest": med(lambda j: j.get("generator", {}).get("busiest_thread_pct")),
        "errors": med(lambda j: j.get("errors")),
        "closed": med(lambda j: j.get("errors_by_kind", {}).get("closed")),
        "ready": med(lambda j: j.get("connections_ready")),
        "planned": med(lambda j: j.get("connections_planned")),
        "runs": len(lines),
    }


def cpu_per_received(j):
    """Server CPU s per 1M frames received during the window (overload rows)."""
    cpu = (j.get("server") or {}).get("cpu_s")
    frames = (j.get("received_per_s") or 0) * (j.get("duration_s") or 0)
    return cpu * 1e6 / frames if cpu is not None and frames else None


def passes(m):
    return (m["ratio"] is not None and m["ratio"] >= RATIO_MIN and m["p99"] is not None
            and m["p99"] < m["p99_limit_us"])


def group(rows):
    g = defaultdict(list)
    for r in rows:
        g[(r["row"], r["server"], float(r["step"]))].append(r)
    return g


def best_step(g, row, server):
    steps = sorted(s for (r, sv, s) in g if r == row and sv == server)
    best = 0.0
    for s in steps:
        if passes(metrics(g[(row, server, s)])):
            best = s
        else:
            break
    return best


def last_step(g, row, server):
    steps = [s for (r, x, s) in g if r == row and x == server]
    return max(steps) if steps else None


def fmt_rate(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"


def fmt_ms(us):
    return "–" if us is None else (f"{us / 1000:.1f}" if us >= 1000 else f"{us / 1000:.2f}")


def fmt_cpu(v):
    return "–" if v is None else f"{v:.2f}"


def cell(kind, m, note=""):
    if m is None:
        return "n/a"
    if kind == "idle":
        if m["rss_conn"] is None:
            return "–"
        s = f"{m['rss_conn']:.0f} B/conn"
        if m["ready"] is not None and m["planned"] and m["ready"] < m["planned"]:
            s += f" ({m['ready']:.0f}/{m['planned']:.0f} up)"
        return s
    s = f"{fmt_rate(m['rate'])} · {fmt_ms(m['p99'])} ms · {fmt_cpu(m['cpu'])}"
    if kind == "fixed" and m["rss_end"]:
        s += f" · {m['rss_end'] / 1048576:.0f} MiB"
    if m["busiest"] is not None:
        s += f" · gen {m['busiest']:.0f}%"
        if m["busiest"] > GENBOUND_PCT:
            s += " (gen-bound)"
    if m["closed"]:
        s += f" ({m['closed']:.0f} closed)"
    return s + note


def build(rows):
    g = group(rows)
    order = OrderedDict()
    servers = [s for s in SERVERS if any(r["server"] == s for r in rows)]
    for r in rows:  # rows of other servers only (the scaling pair) are printed on their own
        if r["server"] in servers:
            order.setdefault(r["row"], r["kind"])
    table = OrderedDict()  # row -> server -> (metrics, note)
    for row, kind in order.items():
        table[row] = {}
        for sv in servers:
            steps = sorted(s for (r, x, s) in g if r == row and x == sv)
            if not steps:
                continue
            if kind in ("ladder", "churn"):
                b = best_step(g, row, sv)
                if b:
                    m = metrics(g[(row, sv, b)])
                    top = b == steps[-1] and passes(metrics(g[(row, sv, steps[-1])]))
                    table[row][sv] = (m, " (top of ladder)" if top else "")
                else:
                    table[row][sv] = (metrics(g[(row, sv, steps[0])]), " ✗ (no step passed)")
            else:
                table[row][sv] = (metrics(g[(row, sv, steps[-1])]), "")
    return order, servers, table


def print_tables(rows):
    order, servers, table = build(rows)
    if not servers:  # only rows of other servers (the scaling pair), printed on their own
        return
    print("| scenario | " + " | ".join(servers) + " |")
    print("|---|" + "---|" * len(servers))
    for row, kind in order.items():
        cells = [cell(kind, *table[row][sv]) if sv in table[row] else "n/a" for sv in servers]
        print(f"| {row} | " + " | ".join(cells) + " |")
    peers = [s for s in servers if s != "ringcast"]
    if "ringcast" not in servers or not peers:
        return
    print()
    print("Ratios ringcast / peer (deliveries/s: higher is better for ringcast; p99 and CPU per "
          "delivery: lower is better; idle: RSS per connection, lower is better). ringcast/sol is "
          "ringcast against its own limit, the speed-of-light server (bench/sol/)")
    print()
    print("| scenario | " + " | ".join(f"ringcast/{p}" for p in peers) + " |")
    print("|---|" + "---|" * len(peers))

    def ratio(a, b):
        if a is None or b is None or b == 0:
            return "–"
        return f"{a / b:.2f}"

    for row, kind in order.items():
        rc = table[row].get("ringcast")
        cells = []
        for p in peers:
            pm = table[row].get(p)
            if rc is None or pm is None:
                cells.append("n/a")
            elif kind == "idle":
                cells.append(f"RSS ×{ratio(rc[0]['rss_conn'], pm[0]['rss_conn'])}")
            else:
                cells.append(f"rate ×{ratio(rc[0]['rate'], pm[0]['rate'])} · "
                             f"p99 ×{ratio(rc[0]['p99'], pm[0]['p99'])} · "
                             f"CPU ×{ratio(rc[0]['cpu'], pm[0]['cpu'])}")
        print(f"| {row} | " + " | ".join(cells) + " |")


def print_scaling(rows, row, one, two, sat=None):
    """ONE is one shard at q core, TWO two shards at 2q. The rate ratio is read off the ladder;
    the CPU figure, 2 x (CPU per delivery of ONE) / (that of TWO) at the highest step both passed,
    would be the scaling if a delivery cost the same at any rate. It does not: cost per delivery
    falls as the load grows and sends carry more frames, so at one rate the less loaded pair
    looks dearer."""
    g = group(rows)
    b1, b2 = best_step(g, row, one), best_step(g, row, two)
    print(f"| {row} | highest passing step | p99 ms | server CPU s per 1M | gen |")
    print("|---|---|---|---|---|")
    for name, b in ((one, b1), (two, b2)):
        m = metrics(g.get((row, name, b), [])) if b else None
        if m:
            print(f"| {name} | {fmt_rate(b)} | {fmt_ms(m['p99'])} | {fmt_cpu(m['cpu'])} |"
                  f" {m['busiest'] or 0:.0f}% |")
        else:
            print(f"| {name} | ✗ | – | – | – |")
    both = min(b1, b2)
    rate = f"×{b2 / b1:.2f}" if b1 else "–"
    cpu = "–"
    if both:
        c1, c2 = metrics(g[(row, one, both)])["cpu"], metrics(g[(row, two, both)])["cpu"]
        if c1 and c2:
            cpu = f"×{2 * c1 / c2:.2f} (CPU per 1M at {fmt_rate(both)}: {c1:.2f} s vs {c2:.2f} s)"
    print(f"\nscaling {two}/{one}: ladder {rate} · from CPU per delivery {cpu}")
    if not sat:
        return
    m1, m2 = (metrics(g.get((sat, name, s), [])) if s else None
              for name, s in ((one, last_step(g, sat, one)), (two, last_step(g, sat, two))))
    print(f"\n| {sat} | received/s | server CPU s per 1M | RSS at end |")
    print("|---|---|---|---|")
    for name, m in ((one, m1), (two, m2)):
        if m:
            print(f"| {name} | {fmt_rate(m['rate'])} | {fmt_cpu(m['cpu'])} | "
                  f"{(m['rss_end'] or 0) / 2**20:.0f} MiB |")
    if m1 and m2 and m1["rate"]:
        print(f"\nscaling {two}/{one} at saturation: ×{m2['rate'] / m1['rate']:.2f}")


def main():
    cmd, raw = sys.argv[1], sys.argv[2]
    rows = load(raw)
    if cmd == "verdict":
        row, server, step = sys.argv[3], sys.argv[4], float(sys.argv[5])
        lines = group(rows).get((row, server, step), [])
        if not lines:
            print("fail ok")
            return
        m = metrics(lines)
        gb = m["busiest"] is not None and m["busiest"] > GENBOUND_PCT
        print(("pass" if passes(m) else "fail") + (" genbound" if gb else " ok"))
    elif cmd == "best":
        print(f"{best_step(group(rows), sys.argv[3], sys.argv[4]):.0f}")
    elif cmd == "table":
        print_tables(rows)
    elif cmd == "scaling":
        print_scaling(rows, *sys.argv[3:7])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
