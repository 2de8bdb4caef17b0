"""The `instructions` workload of bench/run.py (Parley only): CPU instructions per message,
counted by Valgrind's callgrind, which gives nearly the same count on every run where timings
on a shared, noisy machine do not. It catches a regression of a few percent that the
throughput figures would hide in their noise.

One Parley node (SQLite) runs under `valgrind --tool=callgrind --vgdb=yes`. Then:

1. warm-up: parley-load `throughput` with the same pairs for a moment, so that every path a
   message takes (the conversations, prepared statements, buffers) has run once;
2. a run that only connects: `callgrind_control --zero`, parley-load with a window of a
   millisecond, `callgrind_control --dump`: what connecting, signing in and leaving cost (F),
   with the few messages it stored (m0);
3. measured: `--zero`, parley-load `throughput` with one message in flight per sender
   (--window 1), so that each message is its own commit, its own frames and its own
   deliveries, whatever the machine's speed (batching would make the count depend on timing;
   `--instructions-window 16 --instructions-pairs 100` counts the batched path of
   `throughput` instead, at the batch sizes the slowed server reaches);
   `--dump`: the instructions of every thread of the server (T), and the messages stored (m,
   counted in the database file);
4. instructions per message = (T − F) / (m − m0): without the connections' cost, which
   otherwise would weigh more the fewer messages a run sends. Allocations per message the same
   way, from the calls callgrind recorded into the allocator's entry points (malloc, calloc,
   realloc, the aligned ones and every `operator new`), whoever made them: Parley, SQLite,
   OpenSSL, the C++ library. (mimalloc's `operator new` and `operator new[]` are one
   function, which callgrind names after either.)
5. history pages: two parley-load `history` runs with one reader, each filling the same
   number of messages into the first pair's conversation and then reading random pages of
   50 over HTTP for a short and for a longer time. Both pay the same filling and connecting,
   so instructions per page = (T_long − T_short) / (pages_long − pages_short), the pages
   counted by the reader (warm-up included, as callgrind counts it). A page covers the HTTP
   request and answer, the session check and the page's read (one read job together) and
   the JSON. Allocations per page the same way.

What the count covers: a message received over WebSocket, checked, written and committed
(SQLite, fsync), acknowledged, and delivered to the receiver; plus the server's own timers
over those seconds (heartbeats; a few per cent at most). Instructions are not time: a page
fault, a cache miss or an fsync costs no instruction. So this row complements the CPU per
message of `throughput`, and does not replace it.
"""

import os
import re
import shutil
import sqlite3
import subprocess

SHOWN = ["instructions_per_message", "allocations_per_message", "measured_messages",
         "instructions_total", "connect_instructions", "instructions_per_page",
         "allocations_per_page", "measured_pages"]
# The allocator's entry points, as callgrind names them.
ALLOCATORS = re.compile(r"(?:malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign|valloc"
                        r"|operator new(?:\[\])?\(.*\))$")
START_TIMEOUT = 300  # seconds: Valgrind reads the binary's debug information first


class Failure(Exception):
    pass


def add_arguments(parser):
    group = parser.add_argument_group("instructions workload (bench/instructions.py)")
    group.add_argument("--instructions-seconds", type=float, default=5,
                       help="seconds of the measured run under callgrind (default 5)")
    group.add_argument("--instructions-pairs", type=int, default=4,
                       help="sender/receiver pairs, one message in flight each (default 4)")
    group.add_argument("--instructions-window", type=int, default=1,
                       help="messages in flight per sender (default 1: each message its own "
                            "commit, the same count on every run; more gives batched commits, "
                            "as under `throughput`, whose count then depends on timing)")


def plan(options):
    """The workload's entry in bench/run.py's plans."""
    smoke = options.smoke
    pairs = 1 if smoke else options.instructions_pairs
    sizes = dict(pairs=pairs, window=options.instructions_window,
                 seconds=0.5 if smoke else options.instructions_seconds,
                 warmup_seconds=0.5 if smoke else 2,
                 history_messages=60 if smoke else 200,
                 history_seconds=(0.2, 1.5) if smoke else (1, 4))
    entry = dict(users=2 * pairs, pairs=True, instructions=sizes,
                 parley_only="instruction counts are Parley's alone (callgrind)",
                 engines=("sqlite",), shown=SHOWN)
    why = unavailable(options.parley)
    if why:
        entry["unavailable"] = why
    return entry


def unavailable(binary):
    """Why this binary cannot be counted here, or None: no Valgrind, or a build with
    AddressSanitizer (its shadow memory and Valgrind's cannot share a process; only the
    release build's count means anything anyway)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "no valgrind (make test-deps installs it)"
    try:
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                                 timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if "libasan" in dynamic:
        return "a build with AddressSanitizer"
    return None


def wrapper(directory):
    """The command prefix that runs the server under callgrind, writing into `directory`."""
    return ["valgrind", "--tool=callgrind", "--vgdb=yes", "--trace-children=no",
            f"--callgrind-out-file={os.path.join(directory, 'callgrind.out')}"]


def run(start_server, run_load, sizes, label):
    """start_server(wrapper, start_timeout) makes a fresh bench/servers.py Server; run_load is
    bench/run.py's. The result as parley-load writes it, with the counts in its figures."""
    server = None
    try:
        server = start_server(wrapper, START_TIMEOUT)
        return measure(server, run_load, sizes, label)
    except Failure:
        raise
    except Exception as error:  # noqa: BLE001 - one failed workload, not the whole run
        raise Failure(f"{type(error).__name__}: {error}") from error
    finally:
        if server is not None:
            server.stop(check=False)


def measure(server, run_load, sizes, label):
    base = ["throughput", "--pairs", sizes["pairs"], "--window", sizes["window"]]
    output = os.path.join(server.directory, "warmup.json")
    run_load(server, base + ["--seconds", sizes["warmup_seconds"], "--warmup", 0], output,
             f"{label} (warm-up)")
    (connect, connect_allocations), connect_messages, _ = counted(
        server, lambda: run_load(server, base + ["--seconds", 0.001, "--warmup", 0],
                                 os.path.join(server.directory, "connect.json"),
                                 f"{label} (connections only)"))
    output = os.path.join(server.directory, "result.json")
    (total, allocations), messages, result = counted(
        server, lambda: run_load(server, base + ["--seconds", sizes["seconds"], "--warmup", 0],
                                 output, label))
    if messages <= connect_messages:
        raise Failure(f"the measured run stored {messages} messages, the connections-only one "
                      f"{connect_messages}")
    figures = result["figures"]
    figures["instructions_total"] = total
    figures["connect_instructions"] = connect
    figures["measured_messages"] = messages
    figures["instructions_per_message"] = round((total - connect) / (messages - connect_messages))
    figures["allocations_per_message"] = round(
        (allocations - connect_allocations) / (messages - connect_messages), 1)
    runs = []
    for seconds in sizes["history_seconds"]:
        output = os.path.join(server.directory, f"history-{seconds}.json")
        history = ["history", "--messages", sizes["history_messages"], "--concurrency", 1,
                   "--seconds", seconds]
        (instructions, allocated), _, answer = counted(
            server, lambda: run_load(server, history, output, f"{label} (history, {seconds} s)"))
        runs.append((instructions, allocated, answer["figures"]["pages_read"]))
    (short_total, short_allocations, short_pages), (long_total, long_allocations, long_pages) = runs
    if long_pages <= short_pages:
        raise Failure(f"the longer history run read {long_pages} pages, the shorter {short_pages}")
    figures["measured_pages"] = long_pages - short_pages
    figures["instructions_per_page"] = round((long_total - short_total) / (long_pages - short_pages))
    figures["allocations_per_page"] = round(
        (long_allocations - short_allocations) / (long_pages - short_pages), 1)
    result["parameters"]["callgrind"] = " ".join(wrapper(server.directory))
    return result


def counted(server, run):
    """Runs `run()` between callgrind's zero and dump: ((instructions, allocations), messages
    stored, what run() returned)."""
    control(server.pids[0], "--zero")
    before = stored_messages(server.database)
    returned = run()
    control(server.pids[0], "--dump")
    stored = stored_messages(server.database) - before
    return dumped_counts(server.directory), stored, returned


def control(pid, action):
    """callgrind_control on the server (through vgdb: also while it waits in epoll)."""
    result = subprocess.run(["callgrind_control", action, str(pid)], capture_output=True,
                            text=True, timeout=120)
    if result.returncode != 0 or "OK" not in result.stdout:
        raise Failure(f"callgrind_control {action} {pid}: {result.stdout}{result.stderr}")


def stored_messages(database):
    """Messages in the server's SQLite database (WAL: read beside the writer)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        connection.close()


def dumped_counts(directory):
    """(instructions, allocations) of the newest dump, callgrind.out.N: its `totals:` line, and
    the calls it records into the allocator's entry points (ALLOCATORS) from anywhere but
    another of them (so an `operator new` over `malloc` counts once)."""
    dumps = [name for name in os.listdir(directory) if re.fullmatch(r"callgrind\.out\.\d+", name)]
    if not dumps:
        raise Failure(f"callgrind wrote no dump into {directory}")
    newest = max(dumps, key=lambda name: int(name.rsplit(".", 1)[1]))
    return counts_of(os.path.join(directory, newest))


def counts_of(path):
    """(instructions, allocations) of one callgrind dump (see dumped_counts). Function names are
    compressed: `fn=(id) name` or `cfn=(id) name` the first time, `(id)` alone after."""
    names = {}
    total = None
    allocations = 0
    caller = callee = None
    with open(path, errors="replace") as stream:
        for line in stream:
            match = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if match:
                kind, key, name = match.groups()
                if name is not None:
                    names[key] = name
                if kind == "fn":
                    caller, callee = names.get(key), None
                else:
                    callee = names.get(key)
            elif line.startswith("calls=") and callee is not None and ALLOCATORS.match(callee):
                if caller is None or not ALLOCATORS.match(caller):
                    allocations += int(line[len("calls="):].split()[0])
            elif total is None:
                match = re.match(r"(?:totals|summary): (\d+)", line)
                if match:
                    total = int(match.group(1))
    if total is None:
        raise Failure(f"no instruction total in {path}")
    return total, allocations
