#!/usr/bin/python3
"""Projects the capacity of a Parley cluster of 1, 2, 4 and 8 nodes from `throughput` runs of
the PostgreSQL setups (bench/run.py --only parley-pg,parley-2n,parley-3n throughput), and
checks the multi-node targets against them and the `throughput-light` runs beside them.

    bench/project.py RUN1/…-throughput.json [RUN2/…-throughput.json …]
                     [--light RUN1/…-throughput-light.json …] [--node-cores 2]
                     [--postgres-cores 2] [--markdown]

With several runs each figure is the median over the runs.

A 2-core machine cannot draw a scaling curve (the nodes, PostgreSQL, Redis and the generator
share its two cores), so the curve is computed from CPU time per delivered message, which does
not depend on how the cores were shared:

- Parley, per message, for users spread evenly over N nodes (a pair's two users on the same
  node with probability 1/N): same node, C_same (parley-pg: send, store, deliver, publish);
  across nodes, C_send on the sender's node plus C_recv on the receiver's (parley-2n's node 1
  and node 2); and every node that has neither user still receives and decodes every payload
  of the one bus channel, b (parley-3n's node 3, which has no clients). The nodes' capacity is
  N × node_cores / (that sum), spread evenly.
- PostgreSQL, on its own machine with postgres_cores cores: postgres_cores / P, with P its CPU
  per message (all its processes) from parley-pg for one node and from parley-2n beyond (with
  more nodes there are more writers, each committing its own batches).
- Redis is single-threaded: one core / R(N), where R(N) = r0 + r1 × N subscribers, r1 the
  growth from parley-2n (2 subscribers) to parley-3n (3), r0 the rest.

- One writer per node: each node commits through one PostgreSQL connection whose statements
  wait for their answers one after another, so a node's writes have a ceiling W in jobs/s that
  no spare CPU raises. W is taken as parley-pg's delivered messages/s at saturation (its
  writer was then the bottleneck: neither Parley nor PostgreSQL used a core) times its write
  jobs per message; N nodes give N × W when the senders are spread over them.

The capacity of N nodes is the least of these; that one is the limiting resource.
"""

import argparse
import json
import statistics
import sys


def figures(record, setup):
    result = record.get(setup)
    if not isinstance(result, dict):
        raise SystemExit(f"project: {setup} missing from the results (run it with --only …,{setup})")
    return result["figures"]


def median_record(records):
    """One record whose figures are the medians over `records` (setup by setup)."""
    out = {}
    for setup in ("parley-pg", "parley-2n", "parley-3n"):
        runs = [figures(record, setup) for record in records if isinstance(record.get(setup), dict)]
        if not runs:
            continue
        keys = set().union(*runs)
        out[setup] = {"figures": {key: statistics.median(run[key] for run in runs if key in run)
                                  for key in keys
                                  if all(isinstance(run.get(key, 0), (int, float)) for run in runs)}}
    return out


def model(record, node_cores, postgres_cores):
    pg = figures(record, "parley-pg")
    two = figures(record, "parley-2n")
    three = figures(record, "parley-3n")
    c_same = pg["server_cpu_us_per_message"]
    c_send = two["node1_cpu_us_per_message"]
    c_recv = two["node2_cpu_us_per_message"]
    idle = three["node3_cpu_us_per_message"]
    r2, r3 = two["redis_cpu_us_per_message"], three["redis_cpu_us_per_message"]
    r1 = max(0.0, r3 - r2)
    r0 = max(0.0, r2 - 2 * r1)
    writer = pg["delivered_per_s"] * pg["store_writes_per_message"]
    inputs = dict(c_same=c_same, c_send=c_send, c_recv=c_recv, idle_node=idle, redis_r0=r0,
                  redis_per_subscriber=r1, postgres_1=pg["postgres_cpu_us_per_message"],
                  postgres_n=two["postgres_cpu_us_per_message"], writer_jobs_per_s=writer)
    rows = []
    for nodes in (1, 2, 4, 8):
        if nodes == 1:
            parley = c_same
        else:
            same = (c_same + (nodes - 1) * idle) / nodes
            cross = (nodes - 1) / nodes * (c_send + c_recv + (nodes - 2) * idle)
            parley = same + cross
        postgres = inputs["postgres_1"] if nodes == 1 else inputs["postgres_n"]
        redis = r0 + r1 * nodes
        limits = {
            "Parley nodes' CPU": nodes * node_cores * 1e6 / parley,
            "PostgreSQL CPU": postgres_cores * 1e6 / postgres,
            "Redis (one core)": 1e6 / redis if redis > 0 else float("inf"),
            "one writer per node": nodes * writer / pg["store_writes_per_message"],
        }
        limit = min(limits, key=limits.get)
        rows.append(dict(nodes=nodes, parley_us=parley, parley_per_node_us=parley / nodes,
                         postgres_us=postgres, redis_us=redis, limits=limits, limit=limit,
                         capacity=limits[limit]))
    return inputs, rows


def targets(record, light):
    pg, two = figures(record, "parley-pg"), figures(record, "parley-2n")
    out = []
    ratio = two["server_cpu_us_per_message"] / pg["server_cpu_us_per_message"]
    out.append(("cross-node delivery ≤ 1.5× the server CPU of a same-node one (at load)",
                f"{two['server_cpu_us_per_message']:.0f} µs / {pg['server_cpu_us_per_message']:.0f} µs"
                f" = {ratio:.2f}×", ratio <= 1.5))
    for setup in ("parley-pg", "parley-2n"):
        result = figures(record, setup)
        per_commit = result["store_jobs_per_commit"] / result["store_writes_per_message"]
        out.append((f"≥ 10 messages per PostgreSQL commit at load ({setup})",
                    f"{per_commit:.0f} messages ({result.get('store_jobs_per_commit')} write jobs) per commit",
                    per_commit >= 10))
    if light:
        cross = figures(light, "parley-2n")
        out.append(("cross-node p99 send→receive < 10 ms at the throughput-light rate",
                    f"{cross['delivery_p99_ms']:.1f} ms at {cross['delivered_per_s']:.0f} messages/s",
                    cross["delivery_p99_ms"] < 10))
    return out


def load(path):
    with open(path) as stream:
        return json.load(stream)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("throughput", nargs="+", help="bench/results/*-throughput.json files with "
                                                      "parley-pg, parley-2n and parley-3n")
    parser.add_argument("--light", nargs="*", help="the matching *-throughput-light.json files")
    parser.add_argument("--node-cores", type=float, default=2)
    parser.add_argument("--postgres-cores", type=float, default=2)
    parser.add_argument("--markdown", action="store_true")
    options = parser.parse_args()
    record = median_record([load(path) for path in options.throughput])
    light = median_record([load(path) for path in options.light]) if options.light else None
    inputs, rows = model(record, options.node_cores, options.postgres_cores)
    print("inputs (µs of CPU per delivered message): " +
          ", ".join(f"{key} {value:.1f}" for key, value in inputs.items()))
    if options.markdown:
        print("| nodes | Parley CPU per message (all nodes; per node) | PostgreSQL CPU per message | "
              "Redis CPU per message | nodes' CPU allows | PostgreSQL's CPU allows | Redis allows | "
              "the writers allow | projected messages/s | limited by |")
        print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        limits = row["limits"]
        cells = [str(row["nodes"]), f"{row['parley_us']:.0f} µs; {row['parley_per_node_us']:.0f} µs",
                 f"{row['postgres_us']:.0f} µs", f"{row['redis_us']:.1f} µs",
                 *(f"{limits[key]:,.0f}" for key in limits), f"{row['capacity']:,.0f}", row["limit"]]
        print(("| " + " | ".join(cells) + " |") if options.markdown else "  ".join(cells))
    for what, value, met in targets(record, light):
        print(f"{what}: {value}: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
