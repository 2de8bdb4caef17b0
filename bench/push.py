"""The `push` workload of bench/run.py (Parley only; the peer has no Web Push): what a push
costs the server, and what pushes do to message throughput.

Every run is parley-load's `throughput` workload on a fresh server (bench/servers.py's Server, with
--push-allow-insecure-endpoints and --push-user-rate 0 so that no per-user limit drops a
push), with `--offline N`: the receivers of the last N pairs never connect, so every message to
them is stored and, when the receiver is subscribed, pushed. Four runs, in this order:

1. cost, push off: P pairs, every receiver offline, nobody subscribed; a paced rate R
   (--push-rate, default 1,000 messages/s, low enough for the pushes to keep up).
2. cost, push on: the same, every receiver subscribed once (its own endpoint URL).
   CPU per push = (server CPU per message of 2 − that of 1) / (pushes per message in 2), all
   read over parley-load's measured window (utime + stime of /proc/PID/stat; pushes from
   /metrics' parley_push_sent_total over the same window).
3. half, push off: P pairs, the receivers of half of them offline, nobody subscribed; as fast
   as acknowledged (W messages in flight per sender).
4. half, push on: the same, the offline half subscribed. Messages acknowledged per second and
   server CPU per message, against 3.

The push service is a sink (this file run as `push.py sink DIR`, its own process, so its CPU
is not the server's; parley-load reports it as sink_cpu_cores): it answers 201 to every POST
and keeps the first few requests, which are decrypted here with the subscriber's private key
(RFC 8291) and whose VAPID token is verified with the server's public key (RFC 8292). All
subscribers share one P-256 key pair and auth secret; each has its own endpoint
http://127.0.0.1:PORT/push/<user id>. After each push-on run the workload waits for the push
queue to drain (sent + failed + skipped in /metrics at least the messages sent to offline
receivers, the queue empty, the counters still for QUIET seconds) and reports what failed and
what was never sent.
"""

import asyncio
import base64
import datetime
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = 5  # requests the sink keeps for decryption
DRAIN_TIMEOUT = 300  # seconds after the load for the last push; only a failure reaches it
QUIET = 0.5  # seconds the push counters must stay unchanged for the queue to count as drained
SHOWN = ["cpu_us_per_push", "cost_off_cpu_us_per_message", "cost_on_cpu_us_per_message",
         "cost_pushes_per_s", "half_off_acked_per_s", "half_on_acked_per_s",
         "half_off_cpu_us_per_message", "half_on_cpu_us_per_message", "half_on_pushes_per_s",
         "half_on_push_drain_s", "half_on_not_sent_share", "pushes_failed", "pushes_skipped",
         "samples_decrypted",
         "load_average_1m"]
RUNS = [("cost_off", "all", False), ("cost_on", "all", True),
        ("half_off", "half", False), ("half_on", "half", True)]


class Failure(Exception):
    pass


def add_arguments(parser):
    group = parser.add_argument_group("push workload (bench/push.py; also --pairs, --window, "
                                      "--seconds)")
    group.add_argument("--push-rate", type=float, default=1000,
                       help="messages/s of the cost runs, every receiver offline (default 1000)")


def plan(options):
    """The workload's entry in bench/run.py's plans."""
    smoke = options.smoke
    pairs = 4 if smoke else options.pairs
    sizes = dict(pairs=pairs, window=4 if smoke else options.window,
                 seconds=0.5 if smoke else options.seconds, warmup=0.2 if smoke else 2,
                 rate=200 if smoke else options.push_rate)
    flags = ["--push-allow-insecure-endpoints", "--push-user-rate", "0"]
    return dict(users=2 * pairs, push=sizes, flags=flags,
                parley_only="the peer has no Web Push", shown=SHOWN)


# -- the sink: a fake push service answering 201 to every POST (its own process) ---------------

RESPONSE = b"HTTP/1.1 201 Created\r\nTTL: 86400\r\nContent-Length: 0\r\n\r\n"


class SinkState:
    def __init__(self, directory):
        self.directory = directory
        self.requests = 0
        self.not_post = 0
        self.bytes = 0
        self.tokens = set()  # distinct Authorization values: VAPID tokens reused or not
        self.paths = set()

    def record(self, request_line, headers, body):
        self.requests += 1
        self.bytes += len(body)
        method, _, rest = request_line.partition(" ")
        path = rest.rpartition(" ")[0]
        if method != "POST":
            self.not_post += 1
        self.tokens.add(headers.get("authorization", ""))
        self.paths.add(path)
        if self.requests <= SAMPLES:
            sample = {"path": path, "headers": headers, "body": base64.b64encode(body).decode()}
            with open(os.path.join(self.directory, f"sample-{self.requests}.json"), "w") as out:
                json.dump(sample, out)

    def stats(self):
        return {"requests": self.requests, "not_post": self.not_post, "bytes": self.bytes,
                "vapid_tokens": len(self.tokens), "endpoints": len(self.paths)}


class SinkProtocol(asyncio.Protocol):
    def __init__(self, state):
        self.state = state
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while True:  # every complete request in the buffer (keep-alive works too)
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            size = end + 4 + int(headers.get("content-length") or 0)
            if len(self.buffer) < size:
                return
            self.state.record(lines[0], headers, bytes(self.buffer[end + 4:size]))
            del self.buffer[:size]
            self.transport.write(RESPONSE)
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                return


def sink_main(directory):
    """`push.py sink DIR`: prints `sink.ready port=N`, then answers `stats` on stdin with one
    JSON line; ends at EOF."""
    state = SinkState(directory)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SinkProtocol(state), "127.0.0.1", 0,
                                          backlog=4096)
        print(f"sink.ready port={server.sockets[0].getsockname()[1]}", flush=True)
        done = loop.create_future()

        def commands():
            for line in sys.stdin:
                if line.strip() == "stats":
                    loop.call_soon_threadsafe(lambda: print(json.dumps(state.stats()), flush=True))
            loop.call_soon_threadsafe(done.set_result, None)

        threading.Thread(target=commands, daemon=True).start()
        await done
        server.close()

    asyncio.run(serve())


class Sink:
    """The sink process, started by the workload."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "sink",
                                         directory], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # blocks until it listens (or exits)
        if not line.startswith("sink.ready port="):
            self.close()
            raise Failure(f"the push sink did not start: {line!r}")
        self.port = int(line.strip().split("=")[1])
        self.pid = self.process.pid

    def stats(self):
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def samples(self):
        found = []
        for number in range(1, SAMPLES + 1):
            path = os.path.join(self.directory, f"sample-{number}.json")
            if os.path.exists(path):
                with open(path) as stream:
                    found.append(json.load(stream))
        return found

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- the subscriber's side ----------------------------------------------------------------------

def fake_push():
    """tests/e2e/fake_push.py: RFC 8291 decryption and the VAPID checks, written independently of
    the server's C++."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import fake_push as module  # noqa: E402 - python3-cryptography
    return module


def subscribe(url, users, subscriber, port):
    """One subscription per user (id, token), each at its own endpoint."""
    parts = url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(parts[0], int(parts[1]), timeout=60)
    try:
        for user_id, token in users:
            body = json.dumps({"endpoint": f"http://127.0.0.1:{port}/push/{user_id}",
                               "keys": subscriber.keys})
            connection.request("POST", "/api/v1/push/subscriptions", body,
                               {"Authorization": f"Bearer {token}",
                                "Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 201:
                raise Failure(f"subscribing user {user_id}: {response.status} {answer[:300]!r}")
    finally:
        connection.close()


def get(url, path):
    parts = url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(parts[0], int(parts[1]), timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise Failure(f"GET {path}: {response.status} {body[:300]}")
        return body
    finally:
        connection.close()


def push_counters(url):
    """The push counters of /metrics: sent, failed (all statuses), skipped, retries, depth."""
    names = {"parley_push_sent_total": "sent", "parley_push_failed_total": "failed",
             "parley_push_skipped_total": "skipped", "parley_push_retries_total": "retries",
             "parley_push_messages_dropped_total": "messages_dropped",
             "parley_push_queue_depth": "queue_depth"}
    out = dict.fromkeys(names.values(), 0)
    failed = {}
    for line in get(url, "/metrics").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        base = name.split("{")[0]
        if base in names:
            out[names[base]] += float(value)
            if base == "parley_push_failed_total":
                failed[name[len(base):]] = float(value)
    out = {key: int(value) for key, value in out.items()}
    out["failed_by_status"] = failed
    return out


def accounted(counters):
    """Pushes the server has dealt with: sent, failed, skipped, or dropped with their whole
    message before planning (which counts a message to online receivers too: an upper bound)."""
    return (counters["sent"] + counters["failed"] + counters["skipped"]
            + counters["messages_dropped"])


def drain(url, expected):
    """Waits until the pushes owed are accounted for (sent, failed or skipped), the queue is
    empty and the counters have not moved for QUIET seconds; the counters and the seconds it
    took (to the last change). Polls /metrics: the server has no event for this, and its
    queue_depth leaves out messages still being planned (their pushes not yet encrypted),
    hence the quiet period."""
    started = time.monotonic()
    last, changed = None, started
    while True:
        counters = push_counters(url)
        now = time.monotonic()
        if counters != last:
            last, changed = counters, now
        done = accounted(counters)
        if done >= expected and counters["queue_depth"] == 0 and now - changed >= QUIET:
            return counters, changed - started
        if now - started > DRAIN_TIMEOUT:
            raise Failure(f"pushes not done {DRAIN_TIMEOUT} s after the load: {done} of "
                          f"{expected} accounted for, {counters}")
        time.sleep(0.05)  # the polling interval


def check_samples(samples, subscriber, server_key, port, module):
    """Decrypts the sink's sample requests and verifies their VAPID tokens; the payloads."""
    checker = types.SimpleNamespace(origin=f"http://127.0.0.1:{port}", clock=time.time)
    owner = types.SimpleNamespace(application_server_key=module.b64url_decode(server_key))
    payloads = []
    for sample in samples:
        headers = module.Headers(sample["headers"].items())
        if headers.get("content-encoding") != "aes128gcm":
            raise Failure(f"push without aes128gcm: {sample['headers']}")
        try:
            # The checks tests/e2e/fake_push.py's service makes (signature with the server's
            # key, aud, exp, sub), then RFC 8291 decryption with the subscriber's private key.
            claims = module.FakePushService._check_vapid(checker, headers.get("authorization"),
                                                         owner)
            plaintext = subscriber.decrypt(base64.b64decode(sample["body"]), max_records=1)
        except Exception as error:  # noqa: BLE001 - _Reject and DecryptError alike
            raise Failure(f"push to {sample['path']} is not a valid Web Push: {error!r}") from None
        payload = json.loads(plaintext)
        if not {"conversation_id", "message_id", "title"} <= payload.keys():
            raise Failure(f"push payload {payload}")
        payloads.append({"path": sample["path"], "payload": payload,
                         "bytes": len(base64.b64decode(sample["body"])),
                         "urgency": headers.get("urgency"), "ttl": headers.get("ttl"),
                         "vapid_sub": claims.get("sub")})
    return payloads


# -- the workload -------------------------------------------------------------------------------

def run(start_server, run_load, sizes, label):
    """The four runs (start_server() makes a fresh bench/servers.py Server with plan()'s flags;
    run_load is bench/run.py's, with extra parley-load arguments); the result as parley-load
    writes it."""
    try:
        return measure(start_server, run_load, sizes, label)
    except Failure:
        raise
    except Exception as error:  # noqa: BLE001 - one failed workload, not the whole run
        raise Failure(f"{type(error).__name__}: {error}") from error


def one_run(start_server, run_load, sizes, label, offline, subscribed, subscriber, module):
    pairs = sizes["pairs"]
    server = start_server()
    sink = None
    try:
        with open(server.users_file) as stream:
            users = [line.split() for line in stream if line.strip()]
        arguments = ["throughput", "--pairs", pairs, "--window", sizes["window"],
                     "--seconds", sizes["seconds"], "--warmup", sizes["warmup"],
                     "--offline", offline]
        if offline == pairs:
            arguments += ["--rate", sizes["rate"]]
        extra = []
        if subscribed:
            sink = Sink(os.path.join(server.directory, "sink"))
            # Pair i is user 2i (sender) and 2i+1 (receiver); the last `offline` receivers.
            receivers = [users[2 * pair + 1] for pair in range(pairs - offline, pairs)]
            subscribe(server.url, receivers, subscriber, sink.port)
            extra = ["--watch", f"sink={sink.pid}"]
        output = os.path.join(server.directory, "result.json")
        measured = run_load(server, arguments, output, label, extra)
        figures = measured["figures"]
        owed = figures["offline_acked_total"] if subscribed else 0
        counters, waited = drain(server.url, owed)
        figures.update({"push_owed": owed, "push_sent_total": counters["sent"],
                        # Owed but never sent: skipped at the queue limit, or with their whole
                        # message before planning (messages_dropped also counts messages that
                        # owed no push: to online receivers).
                        "push_not_sent": max(0, owed - counters["sent"] - counters["failed"]),
                        "push_failed_total": counters["failed"],
                        "push_skipped_total": counters["skipped"],
                        "push_messages_dropped_total": counters["messages_dropped"],
                        "push_retries_total": counters["retries"],
                        "push_drain_s": round(waited, 2)})
        if counters["failed_by_status"]:
            figures["push_failed_by_status"] = counters["failed_by_status"]
        if sink:
            stats = sink.stats()
            figures.update({f"sink_{key}": value for key, value in stats.items()})
            key = json.loads(get(server.url, "/api/v1/push/key"))["public_key"]
            figures["samples"] = check_samples(sink.samples(), subscriber, key, sink.port,
                                               module)
            if counters["sent"] and not figures["samples"]:
                raise Failure("pushes were sent but the sink kept none")
        if accounted(counters) < owed or (
                not subscribed and counters["sent"] + counters["failed"] > 0):
            raise Failure(f"{owed} pushes owed, the server counted {counters}")
        return measured
    finally:
        if sink:
            sink.close()
        server.stop()


def measure(start_server, run_load, sizes, label):
    module = fake_push()
    subscriber = module.Subscriber()  # one key pair and auth secret for every subscription
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    load = os.getloadavg()
    runs = {}
    for name, share, subscribed in RUNS:
        offline = sizes["pairs"] if share == "all" else sizes["pairs"] // 2
        runs[name] = one_run(start_server, run_load, sizes, label, offline, subscribed,
                             subscriber, module)
    got = {name: result["figures"] for name, result in runs.items()}
    figures = {"load_average_1m": round(load[0], 2), "load_average_5m": round(load[1], 2)}
    for name in got:
        for key in ("acked_per_s", "delivered_per_s", "server_cpu_cores",
                    "machine_busy_cores", "generator_cpu_cores", "sink_cpu_cores",
                    "pushes_per_s", "ack_p50_ms", "ack_p99_ms", "server_rss_mib",
                    "push_sent_total", "push_skipped_total", "push_owed", "push_not_sent"):
            if key in got[name]:
                figures[f"{name}_{key}"] = got[name][key]
        figures[f"{name}_cpu_us_per_message"] = got[name]["server_cpu_us_per_message"]
    for name in ("cost_on", "half_on"):
        # Pushes per acknowledged message in the window (1 when every one to an offline
        # receiver was pushed in time; less when they queue).
        per_message = got[name].get("pushes_per_message", 0)
        figures[f"{name}_pushes_per_message"] = per_message
        figures[f"{name}_push_drain_s"] = got[name]["push_drain_s"]
        off = got[name.replace("_on", "_off")]["server_cpu_us_per_message"]
        extra = got[name]["server_cpu_us_per_message"] - off
        figures[f"{name.split('_')[0]}_extra_cpu_us_per_message"] = round(extra, 2)
    # Only the cost runs divide by pushes: in the half runs pushes may lag the messages.
    per_message = figures["cost_on_pushes_per_message"]
    figures["cpu_us_per_push"] = (round(figures["cost_extra_cpu_us_per_message"] / per_message, 1)
                                  if per_message else None)
    figures["cost_pushes_per_s"] = got["cost_on"].get("pushes_per_s", 0)
    figures["half_throughput_ratio"] = round(
        got["half_on"]["acked_per_s"] / got["half_off"]["acked_per_s"], 3)
    figures["pushes_sent"] = sum(got[name]["push_sent_total"] for name in got)
    figures["pushes_failed"] = sum(got[name]["push_failed_total"] for name in got)
    figures["pushes_skipped"] = sum(got[name]["push_skipped_total"] for name in got)
    figures["pushes_not_sent"] = sum(got[name]["push_not_sent"] for name in got)
    figures["half_on_not_sent_share"] = round(
        got["half_on"]["push_not_sent"] / got["half_on"]["push_owed"], 3)
    figures["sink_vapid_tokens"] = max(got[name].get("sink_vapid_tokens", 0) for name in got)
    samples = got["cost_on"].pop("samples") + got["half_on"].pop("samples")
    figures["samples_decrypted"] = len(samples)
    figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    parameters = dict(sizes, runs={name: runs[name]["parameters"] for name in runs},
                      subscriptions_per_receiver=1, sink="bench/push.py sink (asyncio, 201)")
    return {"workload": "push", "label": label, "date": date, "parameters": parameters,
            "figures": figures, "runs": runs, "samples": samples}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sink":
        sink_main(sys.argv[2])
    else:
        sys.exit("usage: push.py sink DIR (the workload itself runs from bench/run.py)")
