"""The setups that bench/run.py measures: Parley's nodes (with their PostgreSQL and Redis
when a setup needs them) or the Node socket.io peer, each a fresh set of processes with its
users signed in, started and stopped by PID."""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "bench", "peers", "socketio", "server.mjs")
SERVICES = os.path.join(ROOT, "scripts", "test-services.sh")
PG_BIN = os.environ.get("PARLEY_PG_BIN", "/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60

# What each setup runs: the engine, how many Parley nodes, and whether pairs cross nodes.
SETUPS = {
    "parley": dict(engine="sqlite", nodes=1,
                   what="one node, SQLite (WAL, synchronous=FULL)"),
    "parley-pg": dict(engine="postgres", nodes=1,
                      what="one node, PostgreSQL 15 + Redis 7 bus"),
    "parley-2n": dict(engine="postgres", nodes=2, cross=True,
                      what="two nodes, one PostgreSQL 15 + one Redis 7; every message crosses "
                           "nodes (senders on node 1, receivers on node 2)"),
    "parley-3n": dict(engine="postgres", nodes=3, cross=True,
                      what="three nodes, one PostgreSQL 15 + one Redis 7; pairs as in parley-2n, "
                           "node 3 has no clients: it only receives the bus (every node receives "
                           "every payload)"),
    "peer": dict(engine="memory", nodes=1,
                 what="Node socket.io 4.8.4, in memory"),
}


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
            with open(path, errors="replace") as stream:
                tail = "".join(stream.readlines()[-20:])  # the directory is removed after the run
            raise Failure(f"the server exited ({process.returncode}) before starting; {path} "
                          f"ends:\n{tail}")
        time.sleep(0.05)
    raise Failure(f"the server did not start within {timeout} s; see {path}")


def terminate(process):
    """Stops a process that may still run: SIGTERM, then SIGKILL after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Node:
    """One `parley serve` process, its log and the port it listens on."""

    def __init__(self, binary, database, directory, name, extra, wrapper=(),
                 start_timeout=START_TIMEOUT):
        self.name = name
        self.log_path = os.path.join(directory, f"{name}.log")
        self.log_file = open(self.log_path, "w")
        command = [*wrapper, binary, "serve", "--listen", "127.0.0.1:0", "--database", database,
                   "--message-rate", "0", "--change-rate", "0",
                   "--max-connections-per-address", "10000000",
                   "--max-group-members", "1000",
                   # A web root of its own: one that held the database would serve it (the
                   # server refuses that).
                   "--web-root", os.path.join(directory, "web"), *extra]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                        stderr=self.log_file, env=clean_environment())
        try:
            match = wait_for_line(self.log_path, r"http\.listening address=[0-9.]+:(\d+)",
                                  self.process, start_timeout)
            wait_for_line(self.log_path, r"server\.ready", self.process, start_timeout)
        except BaseException:
            self.process.kill()
            self.process.wait()
            self.log_file.close()
            raise
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """SIGTERM (SIGKILL after 30 s); the exit status."""
        terminate(self.process)
        self.log_file.close()
        return self.process.returncode


class Server:
    """A setup under test (see SETUPS): Parley's nodes, or the peer, with `users` users signed
    in; for the PostgreSQL setups also a fresh PostgreSQL and Redis (scripts/test-services.sh).
    Whatever was started is stopped by stop(), also when starting fails half-way. `wrapper`
    (a function of the setup's directory) gives a command prefix for the nodes (callgrind)."""

    def __init__(self, kind, users, workdir, binary, flags, wrapper=None,
                 start_timeout=START_TIMEOUT):
        self.kind = kind
        self.setup = SETUPS[kind]
        self.directory = tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=workdir)
        self.users_file = os.path.join(self.directory, "users.txt")
        self.log_path = os.path.join(self.directory, "server.log")
        self.nodes = []
        self.peer = None
        self.services = None
        self.watched = []  # (name, pid): processes whose CPU is reported beside the server's
        self.database = None
        self.wrapper = wrapper(self.directory) if wrapper else ()
        self.start_timeout = start_timeout
        try:
            self.start(users, binary, flags)
        except BaseException:
            self.stop(check=False)
            raise

    def start(self, users, binary, flags):
        engine = self.setup["engine"]
        if engine == "memory":
            with open(self.users_file, "w") as stream:
                for user in range(1, users + 1):
                    stream.write(f"{user} {secrets.token_urlsafe(24)}\n")
            self.peer_log = open(self.log_path, "w")
            command = ["node", PEER, "--port", "0", "--users", self.users_file]
            self.peer = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.peer_log,
                                         stderr=self.peer_log)
            match = wait_for_line(self.log_path, r"^peer\.ready port=(\d+)", self.peer)
            self.urls = [f"http://127.0.0.1:{match.group(1)}"]
            self.pids = [self.peer.pid]
            return
        if engine == "sqlite":
            database = os.path.join(self.directory, "parley.db")
            bus = []
        else:
            self.services = os.path.join(self.directory, "services")
            result = subprocess.run(["bash", SERVICES, "start", self.services],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise Failure(f"scripts/test-services.sh start failed: {result.stderr[-2000:]}")
            database = read_text(os.path.join(self.services, "postgres.url"))
            bus = ["--bus", read_text(os.path.join(self.services, "redis.url"))]
            self.watched = [("postgres", int(read_text(os.path.join(self.services, "postgres.pid")))),
                            ("redis", int(read_text(os.path.join(self.services, "redis.pid"))))]
        # The users (and, on PostgreSQL, the schema) before the nodes.
        self.database = database
        self.create_parley_users(binary, database, users)
        for index in range(self.setup["nodes"]):
            name = f"n{index + 1}"
            node_flags = (["--node-id", name] if self.setup["nodes"] > 1 else []) + bus + list(flags)
            self.nodes.append(Node(binary, database, self.directory, name, node_flags,
                                   self.wrapper, self.start_timeout))
        self.urls = [node.url for node in self.nodes]
        self.pids = [node.process.pid for node in self.nodes]
        self.log_path = self.nodes[0].log_path

    @property
    def url(self):
        return self.urls[0]

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

    def stop(self, check=True):
        problems = []
        if self.peer is not None:
            terminate(self.peer)
            self.peer_log.close()
            if self.peer.returncode not in (0, -signal.SIGTERM):
                problems.append(f"peer exited with {self.peer.returncode}; see {self.log_path}")
        # Nodes first (SIGTERM drains them), then PostgreSQL and Redis, by their PIDs.
        for node in reversed(self.nodes):
            status = node.stop()
            if status not in (0, -signal.SIGTERM):
                problems.append(f"{self.kind} node {node.name} exited with {status}; "
                                f"see {node.log_path}")
        self.nodes = []
        if self.services is not None:
            result = subprocess.run(["bash", SERVICES, "stop", self.services],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                problems.append(f"scripts/test-services.sh stop failed: {result.stderr[-1000:]}")
            self.services = None
        if check and problems:
            raise Failure("; ".join(problems))


def read_text(path):
    with open(path) as stream:
        return stream.read().strip()


def services_missing():
    """Why the PostgreSQL setups cannot run here, or None."""
    if not os.access(os.path.join(PG_BIN, "initdb"), os.X_OK):
        return f"no PostgreSQL 15 ({PG_BIN}/initdb)"
    if shutil.which("redis-server") is None:
        return "no redis-server"
    return None


def clean_environment():
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("PARLEY_", "TWILIO_"))}
