#!/usr/bin/python3
"""Runs Parley's benchmark workloads against Parley and, in the same run, against the Node
socket.io peer (bench/peers/socketio), with the same load generator (parley-load).

    bench/run.py                      # every workload, full sizes; results in bench/results/
    bench/run.py throughput fanout    # only these
    bench/run.py --smoke --out DIR    # tiny sizes, results in DIR (part of `make test`)
    bench/run.py --idle-connections 100000 --source-addresses 8

Each workload starts a fresh server (a new SQLite database for Parley), signs its users in
without SMS (`parley users import --tokens`; the peer reads the same kind of users file),
runs parley-load, and stops the server. It prints one table and writes
<out>/<date>-<workload>.json with both servers' figures and the ratio Parley/peer.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "bench", "peers", "socketio", "server.mjs")
START_TIMEOUT = 60


class Failure(Exception):
    pass


def log(message):
    print(message, file=sys.stderr, flush=True)


def wait_for_line(path, pattern, process, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as stream:
            match = re.search(pattern, stream.read(), re.M)
        if match:
            return match
        if process.poll() is not None:
            raise Failure(f"the server exited ({process.returncode}) before starting; see {path}")
        time.sleep(0.05)
    raise Failure(f"the server did not start within {timeout} s; see {path}")


class Server:
    """A server under test: Parley or the peer, with `users` users signed in."""

    def __init__(self, kind, users, workdir, binary, flags):
        self.kind = kind
        self.directory = tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=workdir)
        self.users_file = os.path.join(self.directory, "users.txt")
        self.log_path = os.path.join(self.directory, "server.log")
        self.log_file = log_file = open(self.log_path, "w")
        if kind == "parley":
            database = os.path.join(self.directory, "parley.db")
            self.create_parley_users(binary, database, users)
            command = [binary, "serve", "--listen", "127.0.0.1:0", "--database", database,
                       "--message-rate", "0", "--change-rate", "0",
                       "--max-connections-per-address", "10000000",
                       "--max-group-members", "1000",
                       "--web-root", self.directory, *flags]
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                            stderr=log_file, env=clean_environment())
            match = self.wait_or_kill(r"http\.listening address=[0-9.]+:(\d+)")
            self.wait_or_kill(r"server\.ready")
            self.port = int(match.group(1))
        else:
            with open(self.users_file, "w") as stream:
                for user in range(1, users + 1):
                    stream.write(f"{user} {secrets.token_urlsafe(24)}\n")
            command = ["node", PEER, "--port", "0", "--users", self.users_file]
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                            stderr=log_file)
            match = self.wait_or_kill(r"^peer\.ready port=(\d+)")
            self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_or_kill(self, pattern):
        try:
            return wait_for_line(self.log_path, pattern, self.process)
        except Failure:
            self.process.kill()
            self.process.wait()
            self.log_file.close()
            raise

    def create_parley_users(self, binary, database, count):
        lines = "".join(f"+1415{2000000 + user},Bench user {user}\n" for user in range(1, count + 1))
        result = subprocess.run([binary, "users", "import", "--tokens", "--database", database],
                                input=lines, capture_output=True, text=True, env=clean_environment())
        if result.returncode != 0:
            raise Failure(f"parley users import failed: {result.stderr[-2000:]}")
        with open(self.users_file, "w") as stream:
            for line in result.stdout.splitlines():
                row = json.loads(line)
                stream.write(f"{row['user']['id']} {row['token']}\n")

    def stop(self):
        self.log_file.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.returncode not in (0, -signal.SIGTERM):
            raise Failure(f"{self.kind} exited with {self.process.returncode}; see {self.log_path}")


def clean_environment():
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("PARLEY_", "TWILIO_"))}


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
    latencies = ["delivered_per_s", "delivery_p50_ms", "delivery_p99_ms", "delivery_p999_ms",
                 "server_cpu_us_per_message"]
    plans = {
        "throughput": dict(
            users=2 * pairs,
            arguments=throughput,
            shown=["delivered_per_s", "server_cpu_us_per_message", "delivery_p99_ms",
                   "ack_p99_ms", "server_rss_mib", "commits_per_s"]),
        "throughput-half": dict(
            users=2 * pairs,
            # The rate is half of this server's own peak, measured just before.
            arguments=throughput,
            half_of="throughput",
            shown=latencies),
        "throughput-light": dict(
            users=2 * pairs,
            # A fixed, light rate for both: latency when the machine is not saturated.
            arguments=throughput + ["--rate", 200 if smoke else 2000],
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
    }
    return plans


def run_load(load_binary, server, arguments, output, label):
    command = [load_binary, *map(str, arguments), "--url", server.url, "--users", server.users_file,
               "--server-pid", str(server.process.pid), "--label", label, "--json", output,
               "--threads", "1"]
    if server.kind == "parley":
        command.append("--metrics")
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise Failure(f"parley-load failed against {label}: {result.stderr.strip()[-1500:]}")
    with open(output) as stream:
        return json.load(stream)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="workloads to run (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a check that each workload runs")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--parley", default=os.path.join(ROOT, "build", "parley"))
    parser.add_argument("--load", default=os.path.join(ROOT, "build", "parley-load"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--history-messages", type=int, default=100_000)
    parser.add_argument("--idle-connections", type=int, default=0,
                        help="default 10000 (100000 needs a file limit above 100000)")
    parser.add_argument("--source-addresses", type=int, default=1)
    parser.add_argument("--only", choices=["parley", "peer"], help="run against one server only")
    parser.add_argument("--parley-flag", action="append", default=[],
                        help="extra flag for parley serve (repeatable)")
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
    os.makedirs(options.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="parley-bench-")
    kinds = [options.only] if options.only else ["parley", "peer"]
    today = datetime.date.today().isoformat()
    rows = []
    failed = False
    peaks = {}
    try:
        for name in names:
            plan = plans[name]
            results = {}
            for kind in kinds:
                if kind == "peer" and "parley_only" in plan:
                    log(f"bench: {name} on peer skipped ({plan['parley_only']})")
                    continue
                arguments = list(plan["arguments"])
                if "half_of" in plan:
                    peak = peaks.get((plan["half_of"], kind))
                    if not peak:
                        log(f"bench: {name} needs {plan['half_of']} first; skipped for {kind}")
                        continue
                    arguments += ["--rate", max(1, round(peak / 2))]
                log(f"bench: {name} on {kind} …")
                server = Server(kind, plan["users"], workdir, options.parley, options.parley_flag)
                try:
                    output = os.path.join(server.directory, "result.json")
                    results[kind] = run_load(options.load, server, arguments, output, kind)
                except Failure as error:
                    log(f"bench: {name} on {kind} FAILED: {error}")
                    failed = True
                finally:
                    server.stop()
                if kind in results and name == "throughput":
                    peaks[(name, kind)] = results[kind]["figures"]["delivered_per_s"]
            if not results:
                continue
            record = {"workload": name, "date": today, "machine": machine(), "smoke": options.smoke}
            record.update({kind: result for kind, result in results.items()})
            if "parley" in results and "peer" in results:
                record["ratio_parley_to_peer"] = ratio(results["parley"]["figures"], results["peer"]["figures"])
            if "parley_only" in plan:
                record["peer"] = f"n/a: {plan['parley_only']}"
            with open(os.path.join(options.out, f"{today}-{name}.json"), "w") as stream:
                json.dump(record, stream, indent=2)
                stream.write("\n")
            for key in plan["shown"]:
                # A server that did not run shows "n/a" (Parley-only workloads) or nothing.
                values = [results[kind]["figures"].get(key) if kind in results
                          else "n/a" if kind == "peer" and "parley_only" in plan else None
                          for kind in kinds]
                parley_value = results.get("parley", {}).get("figures", {}).get(key)
                peer_value = results.get("peer", {}).get("figures", {}).get(key)
                share = (round(parley_value / peer_value, 2)
                         if isinstance(parley_value, (int, float)) and peer_value
                         else "-" if "parley_only" in plan else None)
                rows.append((name, key, *values, share))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    header = ("workload", "figure", *kinds, *(["parley/peer"] if len(kinds) == 2 else []))
    table = [header] + [tuple("" if cell is None else str(cell) for cell in row[:len(header)])
                        for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"results: {options.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as error:
        log(f"bench: {error}")
        sys.exit(1)
