#!/usr/bin/env python3
"""Tables of bench/cluster.sh: cluster_table.py RAW RUNS

RAW holds one JSON line per generator run, as compare.sh writes them ("server" is the mode:
one-node or cluster), plus "redis": {"pub_calls","all_calls","cpu_s"} deltas over the run for
cluster runs. Ladder rows show the highest step with >= 99 % delivered and p99 under the row's
bound (compare_table.py decides, the same rule as the peer comparison); point rows show their
one step. Prints the results table, the ratio table cluster / one node, and the Redis table.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_table as ct  # noqa: E402

ct.SERVERS = ["one-node", "cluster"]


def redis_rows(rows):
    """Per row: median over the cluster runs of its reported step of the Redis figures."""
    _, _, table = ct.build(rows)
    out = []
    for row, by_mode in table.items():
        if "cluster" not in by_mode:
            continue
        runs = [r for r in rows if r["row"] == row and r["server"] == "cluster" and r.get("redis")]
        # The step the results table reports: the best passing one, else the lowest.
        g = ct.group(runs)
        steps = sorted({s for (_, _, s) in g})
        if not steps:
            continue
        best = ct.best_step(g, row, "cluster") or steps[0]
        lines = g.get((row, "cluster", best), [])
        per = {"pubs": [], "pub": [], "all": [], "cpu": []}
        for l in lines:
            pubs = l["load"].get("published_all") or 0
            if not pubs:
                continue
            r = l["redis"]
            per["pubs"].append(pubs)
            per["pub"].append(r["pub_calls"] / pubs)
            per["all"].append(r["all_calls"] / pubs)
            per["cpu"].append(1e6 * r["cpu_s"] / pubs)
        if per["pubs"]:
            out.append((row, best, {k: statistics.median(v) for k, v in per.items()}))
    return out


def main():
    raw, runs = sys.argv[1], sys.argv[2]
    rows = ct.load(raw)
    order, _, table = ct.build(rows)
    print("Cells: deliveries/s · p99 ms · server CPU s per 1M deliveries (all nodes) · generator's")
    print(f"busiest thread; median of {runs} runs. Ladder rows: the highest step with ≥ 99 % delivered")
    print("and p99 under 50 ms (500 ms on the 1000-rooms row).")
    print()
    print("| scenario | one node, no Redis | 3 nodes + Redis | cluster / one node |")
    print("|---|---|---|---|")

    def ratio(a, b):
        return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}"

    for row, kind in order.items():
        one = table[row].get("one-node")
        cl = table[row].get("cluster")
        cells = [ct.cell(kind, *x) if x else "n/a" for x in (one, cl)]
        if one and cl:
            r = (f"rate ×{ratio(cl[0]['rate'], one[0]['rate'])} · "
                 f"p99 ×{ratio(cl[0]['p99'], one[0]['p99'])} · "
                 f"CPU ×{ratio(cl[0]['cpu'], one[0]['cpu'])}")
        else:
            r = "n/a"
        print(f"| {row} | {cells[0]} | {cells[1]} | {r} |")
    print()
    print("Redis per publication (cluster runs at the step reported above; publications = the")
    print("generator's, warmup included; commands from INFO commandstats, CPU from /proc):")
    print()
    print("| scenario | step (deliveries/s) | publications | PUBLISH+SPUBLISH+EVALSHA / pub | "
          "all commands / pub | Redis CPU µs / pub |")
    print("|---|---|---|---|---|---|")
    for row, step, m in redis_rows(rows):
        print(f"| {row} | {ct.fmt_rate(step)} | {m['pubs']:.0f} | {m['pub']:.3f} | "
              f"{m['all']:.3f} | {m['cpu']:.1f} |")


if __name__ == "__main__":
    main()
