#!/usr/bin/python3
"""Runs Parley's benchmark workloads against Parley and, in the same run, against the Node
socket.io peer (bench/peers/socketio), with the same load generator (parley-load). The
`media` workload (uploads, thumbnails, attachments: bench/media.py) is Parley's alone and runs
in this process instead of parley-load; so is `push` (Web Push: bench/push.py), which runs
parley-load four times on fresh servers beside a fake push service, and `instructions`
(bench/instructions.py), which counts a message's CPU instructions with callgrind, and
`group-change` (bench/groups.py), what a change to a 1,000-member group costs the server.

    bench/run.py                      # every workload, full sizes; results in bench/results/
    bench/run.py throughput fanout    # only these
    bench/run.py --smoke --out DIR    # tiny sizes, results in DIR (part of `make test`)
    bench/run.py --idle-connections 100000 --source-addresses 8
    bench/run.py --only parley,parley-pg,parley-2n throughput throughput-light

Setups (--only, comma-separated):
    parley      one node on SQLite (a fresh database file)
    parley-pg   one node on PostgreSQL 15 with the Redis 7 bus
    parley-2n   two nodes on one PostgreSQL and one Redis; in every pair the sender is on node 1
                and the receiver on node 2, so every message crosses nodes (pair workloads only)
    parley-3n   parley-2n plus a third node without clients: what every node pays for receiving
                every payload on the bus (pair workloads only; only when asked for)
    peer        the Node socket.io peer, in memory
Without --only: parley and peer for every workload, and parley-pg and parley-2n for the
throughput workloads (when PostgreSQL 15 and redis-server are installed).

Each workload starts a fresh setup (a new SQLite database for Parley; for the PostgreSQL ones a
fresh PostgreSQL and Redis from scripts/test-services.sh), signs its users in without SMS
(`parley users import --tokens`; the peer reads the same kind of users file), runs
parley-load, and stops everything by PID. It prints one table and writes
<out>/<date>-<workload>.json with every setup's figures and the ratio Parley/peer, then the
message path's targets that the run can judge, met or not (bench/targets.py).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import groups
import instructions
import media
import push
import targets
from servers import ROOT, SETUPS, Failure, Server, log, services_missing

ORDER = ["parley", "parley-pg", "parley-2n", "parley-3n", "peer"]
# The workloads parley-pg and parley-2n join when --only is not given.
CLUSTER_WORKLOADS = ("throughput", "throughput-half", "throughput-light")


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# Each workload: how many users it needs, parley-load's arguments, and the figures the table
# shows (the JSON keeps them all).
def workloads(options):
    smoke = options.smoke
    idle = options.idle_connections or (40 if smoke else 10_000)
    pairs = 4 if smoke else options.pairs
    # The three throughput rows share their load; they differ in the pacing.
    throughput = ["throughput", "--pairs", pairs, "--window", 4 if smoke else options.window,
                  "--seconds", 0.5 if smoke else options.seconds, "--warmup", 0.2 if smoke else 2]
    # The cost of a message outside Parley (PostgreSQL's and Redis's own CPU) and the group
    # commit's batching: shown only when some setup has them (the PostgreSQL ones).
    cluster = ["postgres_cpu_us_per_message", "redis_cpu_us_per_message", "store_jobs_per_commit"]
    # Commits over 25 ms: whether a latency tail came with slow commits; the share of sends
    # over 5 ms from arrival to ack inside the server: whether it came from the server at all
    # (Parley only).
    latencies = ["delivered_per_s", "delivery_p50_ms", "delivery_p99_ms", "delivery_p999_ms",
                 "server_cpu_us_per_message", *cluster, "store_commits_over_25ms",
                 "server_sends_over_5ms_pct"]
    plans = {
        "throughput": dict(
            users=2 * pairs,
            pairs=True,
            arguments=throughput,
            shown=["delivered_per_s", "server_cpu_us_per_message", *cluster, "delivery_p50_ms",
                   "delivery_p99_ms", "ack_p99_ms", "server_rss_mib", "commits_per_s",
                   "server_disk_bytes_per_message", "server_write_syscalls_per_message",
                   "server_read_syscalls_per_message"]),
        "throughput-half": dict(
            users=2 * pairs,
            pairs=True,
            # The rate is half of this server's own peak, measured just before.
            arguments=throughput,
            half_of="throughput",
            shown=latencies),
        "throughput-light": dict(
            users=2 * pairs,
            pairs=True,
            # A fixed, light rate for both: latency when the machine is not saturated.
            arguments=throughput + ["--rate", 200 if smoke else options.light_rate],
            shown=latencies),
        "fanout-100": dict(
            users=10 if smoke else 100,
            arguments=["fanout", "--members", 10 if smoke else 100, "--rounds", 3 if smoke else 50,
                       "--burst", 5 if smoke else 200],
            shown=["to_last_p50_ms", "to_last_max_ms", "deliveries_per_s",
                   "server_cpu_us_per_delivery"]),
        "fanout-1000": dict(
            users=20 if smoke else 1000,
            arguments=["fanout", "--members", 20 if smoke else 1000, "--rounds", 3 if smoke else 30,
                       "--burst", 5 if smoke else 50],
            # One generator thread reading 999 members' sockets and answering their acks was
            # busy 0.9 of a core, and it set the burst's rate: two, for every server.
            load_threads=2,
            shown=["to_last_p50_ms", "to_last_max_ms", "deliveries_per_s",
                   "server_cpu_us_per_delivery"]),
        "idle": dict(
            users=idle + (10 if smoke else 100),
            arguments=["idle", "--connections", idle, "--warmup", 10 if smoke else 100,
                       "--hold", 0.2 if smoke else 3,
                       "--source-addresses", options.source_addresses],
            shown=["server_bytes_per_connection", "connect_seconds", "server_cpu_us_per_connect"]),
        "history": dict(
            users=2,
            arguments=["history", "--messages", 300 if smoke else options.history_messages,
                       "--seconds", 0.5 if smoke else 5],
            shown=["pages_per_s", "page_p50_ms", "page_p99_ms", "server_cpu_us_per_page",
                   "fill_messages_per_s"]),
        "churn": dict(
            users=10 if smoke else 50,
            arguments=["churn", "--concurrency", 10 if smoke else 50,
                       "--seconds", 0.5 if smoke else 5],
            shown=["cycles_per_s", "server_cpu_us_per_cycle"]),
        # Parley only: the peer has no conversation log. R and one other user per conversation.
        "sync": dict(
            users=(10 if smoke else 100) + 1,
            parley_only="the peer has no sync",
            arguments=["sync", "--conversations", 10 if smoke else 100,
                       "--messages", 8 if smoke else 80, "--edits", 1 if smoke else 10,
                       "--reactions", 1 if smoke else 10, "--limit", 25 if smoke else 500,
                       "--devices", 5 if smoke else 100],
            shown=["sync_wall_ms", "sync_server_cpu_ms", "sync_pages", "sync_messages",
                   "sync100_wall_ms", "sync100_server_cpu_ms", "sync100_p50_ms",
                   "sync100_p99_ms", "fill_changes_per_s"]),
        # Parley only, in Python (bench/media.py): uploads, thumbnails, attachments.
        "media": media.plan(options),
        # Parley only (bench/groups.py): a 1,000-member group created, then renamed with every
        # member online.
        "group-change": groups.plan(options),
        # Parley only (bench/push.py): CPU per push, and throughput with half the receivers
        # offline and subscribed; four parley-load runs, each on a fresh server.
        "push": push.plan(options),
        # Parley only (bench/instructions.py): instructions per message under callgrind.
        "instructions": instructions.plan(options),
    }
    return plans


def run_load(load_binary, server, arguments, output, label, extra=(), threads=1):
    command = [load_binary, *map(str, arguments), "--url", server.url, "--users", server.users_file,
               "--label", label, "--json", output, "--threads", str(threads), *extra]
    for pid in server.pids:
        command += ["--server-pid", str(pid)]
    for name, pid in server.watched:
        command += ["--watch", f"{name}={pid}"]
    if server.setup.get("cross"):
        command += ["--receiver-url", server.urls[1]]
        for url in server.urls[2:]:
            command += ["--metrics-url", url]
    if server.kind != "peer":
        command.append("--metrics")
    busy_before, started = busy_seconds(), time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    busy_after, ended = busy_seconds(), time.monotonic()
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise Failure(f"parley-load failed against {label}: {result.stderr.strip()[-1500:]}")
    with open(output) as stream:
        measured = json.load(stream)
    # How busy the whole machine was during the run (connecting and warm-up included): with
    # the server, the generator and the services known, the rest is what else ran beside.
    if busy_before is not None and busy_after is not None and ended > started:
        measured["figures"]["machine_busy_cores"] = round((busy_after - busy_before) / (ended - started), 2)
    return measured


def busy_seconds():
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as stream:
            fields = [int(value) for value in stream.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as stream:
            model = next((line.split(":", 1)[1].strip() for line in stream
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)}


def ratio(parley, peer):
    out = {}
    for key, value in parley.items():
        other = peer.get(key)
        if isinstance(value, (int, float)) and isinstance(other, (int, float)) and other:
            out[key] = round(value / other, 2)
    return out


def parse_setups(text):
    setups = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in setups if name not in SETUPS]
    if unknown or not setups:
        raise argparse.ArgumentTypeError(f"unknown setup(s) {unknown}; choose from {ORDER}")
    return sorted(set(setups), key=ORDER.index)


def skip_reason(kind, plan):
    """Why this setup does not run this workload (shown as n/a), or None."""
    if plan.get("unavailable"):
        return plan["unavailable"]
    if kind == "peer" and "parley_only" in plan:
        return plan["parley_only"]
    if SETUPS[kind].get("cross") and not plan.get("pairs"):
        return "two nodes: pair workloads only"
    if "engines" in plan and SETUPS[kind]["engine"] not in plan["engines"]:
        return f"{', '.join(plan['engines'])} only"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="workloads to run (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a check that each workload runs")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--keep-workdir", action="store_true",
                        help="keep the working directory (servers' logs, databases, callgrind "
                             "dumps) and print its path")
    parser.add_argument("--parley", default=os.path.join(ROOT, "build", "parley"))
    parser.add_argument("--load", default=os.path.join(ROOT, "build", "parley-load"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--light-rate", type=float, default=2000,
                        help="messages/s of throughput-light (default 2000)")
    parser.add_argument("--history-messages", type=int, default=100_000)
    parser.add_argument("--idle-connections", type=int, default=0,
                        help="default 10000 (100000 needs a file limit above 100000)")
    parser.add_argument("--source-addresses", type=int, default=1)
    parser.add_argument("--only", type=parse_setups, metavar="SETUP[,SETUP…]",
                        help=f"run against these setups only ({', '.join(ORDER)}); default: parley "
                             f"and peer everywhere, parley-pg and parley-2n for "
                             f"{', '.join(CLUSTER_WORKLOADS)}")
    parser.add_argument("--load-threads", type=int, default=None,
                        help="parley-load's threads in the parley-load workloads (default 1, "
                             "fanout-1000 2): to see whether the generator is what limits a "
                             "figure")
    parser.add_argument("--load-gather-writes", action="store_true",
                        help="parley-load writes a connection's frames sent while one handler "
                             "runs at once (default: each frame when it is sent, as Node's ws "
                             "client does)")
    parser.add_argument("--parley-flag", action="append", default=[],
                        help="extra flag for parley serve (repeatable; every node)")
    media.add_arguments(parser)
    groups.add_arguments(parser)
    push.add_arguments(parser)
    instructions.add_arguments(parser)
    options = parser.parse_args()

    plans = workloads(options)
    names = options.names or list(plans)
    unknown = [name for name in names if name not in plans]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(plans)}")
    limit = raise_file_limit()
    needed = max(plans[name]["users"] for name in names) + 200
    if "idle" in names and limit < needed:
        raise SystemExit(f"bench: the idle workload needs {needed} open files; the limit here is "
                         f"{limit} (raise the hard limit, e.g. in /etc/security/limits.conf)")
    missing = services_missing()
    if options.only:
        kinds = options.only
        if missing and any(SETUPS[kind]["engine"] == "postgres" for kind in kinds):
            raise SystemExit(f"bench: {missing}: the PostgreSQL setups cannot run "
                             f"(make test-deps installs it)")
        extra = {}
    else:
        # A full run adds both PostgreSQL setups to the throughput workloads. A smoke run adds
        # parley-2n to `throughput` only (it goes through everything parley-pg does, and each
        # start of PostgreSQL and Redis costs about 3 s).
        if options.smoke:
            extra = {"throughput": ["parley-2n"]}
        else:
            extra = {name: ["parley-pg", "parley-2n"] for name in CLUSTER_WORKLOADS}
        if missing:
            log(f"bench: {missing}: parley-pg and parley-2n skipped")
            extra = {}
        joined = {kind for name in names for kind in extra.get(name, [])}
        kinds = [kind for kind in ORDER if kind in ("parley", "peer") or kind in joined]
    os.makedirs(options.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="parley-bench-")
    today = datetime.date.today().isoformat()
    rows = []
    records = {}  # workload: its JSON record, for the targets' check
    failed = False
    peaks = {}
    try:
        for name in names:
            plan = plans[name]
            results = {}
            skipped = {}
            for kind in kinds:
                if not options.only and kind not in ("parley", "peer") and kind not in extra.get(name, []):
                    continue
                why = skip_reason(kind, plan)
                if why:
                    log(f"bench: {name} on {kind} skipped ({why})")
                    skipped[kind] = why
                    continue
                arguments = list(plan.get("arguments", []))
                if "half_of" in plan:
                    peak = peaks.get((plan["half_of"], kind))
                    if not peak:
                        log(f"bench: {name} needs {plan['half_of']} first; skipped for {kind}")
                        continue
                    arguments += ["--rate", max(1, round(peak / 2))]
                log(f"bench: {name} on {kind} …")
                flags = options.parley_flag + plan.get("flags", [])
                if "push" in plan:  # its own fresh servers, one per run
                    try:
                        results[kind] = push.run(
                            lambda: Server(kind, plan["users"], workdir, options.parley, flags),
                            lambda *args: run_load(options.load, *args), plan["push"], kind)
                    except (Failure, push.Failure) as error:
                        log(f"bench: {name} on {kind} FAILED: {error}")
                        failed = True
                    continue
                if "instructions" in plan:  # its own server, under callgrind
                    try:
                        results[kind] = instructions.run(
                            lambda wrapper, timeout: Server(kind, plan["users"], workdir,
                                                            options.parley, flags, wrapper, timeout),
                            lambda *args: run_load(options.load, *args), plan["instructions"], kind)
                    except instructions.Failure as error:
                        log(f"bench: {name} on {kind} FAILED: {error}")
                        failed = True
                    continue
                try:
                    server = Server(kind, plan["users"], workdir, options.parley, flags)
                except Failure as error:
                    log(f"bench: {name} on {kind} FAILED to start: {error}")
                    failed = True
                    continue
                try:
                    output = os.path.join(server.directory, "result.json")
                    if "media" in plan:
                        results[kind] = media.run(server, plan["media"], kind)
                    elif "groups" in plan:
                        results[kind] = groups.run(server, plan["groups"], kind)
                    else:
                        threads = options.load_threads or plan.get("load_threads", 1)
                        load_extra = ["--gather-writes"] if options.load_gather_writes else []
                        results[kind] = run_load(options.load, server, arguments, output, kind,
                                                 extra=load_extra, threads=threads)
                except (Failure, media.Failure) as error:  # groups.Failure is media's
                    log(f"bench: {name} on {kind} FAILED: {error}")
                    failed = True
                finally:
                    try:
                        server.stop()
                    except Failure as error:
                        log(f"bench: {name} on {kind}: {error}")
                        failed = True
                if kind in results and name == "throughput":
                    peaks[(name, kind)] = results[kind]["figures"]["delivered_per_s"]
            if not results:
                continue
            record = {"workload": name, "date": today, "machine": machine(), "smoke": options.smoke,
                      "setups": {kind: SETUPS[kind]["what"] for kind in results}}
            record.update({kind: result for kind, result in results.items()})
            if "parley" in results and "peer" in results:
                record["ratio_parley_to_peer"] = ratio(results["parley"]["figures"], results["peer"]["figures"])
            record.update({kind: f"n/a: {why}" for kind, why in skipped.items()})
            records[name] = record
            with open(os.path.join(options.out, f"{today}-{name}.json"), "w") as stream:
                json.dump(record, stream, indent=2)
                stream.write("\n")
            for key in plan["shown"]:
                # A figure no setup has (PostgreSQL's CPU in a SQLite-only run) is left out; a
                # setup that did not run shows "n/a" (skipped) or nothing (failed, not asked).
                if not any(key in result["figures"] for result in results.values()):
                    continue
                values = [results[kind]["figures"].get(key) if kind in results
                          else "n/a" if kind in skipped else None
                          for kind in kinds]
                parley_value = results.get("parley", {}).get("figures", {}).get(key)
                peer_value = results.get("peer", {}).get("figures", {}).get(key)
                share = (round(parley_value / peer_value, 2)
                         if isinstance(parley_value, (int, float)) and peer_value
                         else "-" if "peer" in skipped else None)
                rows.append((name, key, *values, share))
    finally:
        if options.keep_workdir:
            log(f"bench: working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    ratio_column = "parley" in kinds and "peer" in kinds
    header = ("workload", "figure", *kinds, *(["parley/peer"] if ratio_column else []))
    table = [header] + [tuple("" if cell is None else str(cell) for cell in row[:len(header)])
                        for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for line in targets.report(records, smoke=options.smoke):
        print(line)
    print(f"results: {options.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as error:
        log(f"bench: {error}")
        sys.exit(1)
