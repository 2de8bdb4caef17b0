"""Operations: health, metrics, --help, configuration (validation and precedence), SIGTERM."""

import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import unittest

from parley_harness import PHONE, TIMEOUT, ParleyServer, ServerTestCase, parse_metrics, run_parley


class HealthAndMetricsTest(ServerTestCase):
    def test_healthz(self):
        response = self.server.get("/healthz")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(response.json(), {"status": "ok"})

    def metrics(self):
        response = self.server.get("/metrics")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.headers.get("Content-Type", "").startswith("text/plain"), response.headers)
        return response.body.decode()

    def sample(self, text, name, **labels):
        return parse_metrics(text).get((name, tuple(sorted(labels.items()))))

    def test_metrics_count_requests_by_route_method_and_status(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        self.assertEqual(self.server.request_code(PHONE).status, 429)
        self.assertEqual(self.server.post("/api/v1/auth/code", {"phone": "nope"}).status, 400)
        text = self.metrics()
        labels = {"route": "/api/v1/auth/code", "method": "POST"}
        self.assertEqual(self.sample(text, "parley_http_requests_total", **labels, status="202"), 1)
        self.assertEqual(self.sample(text, "parley_http_requests_total", **labels, status="429"), 1)
        self.assertEqual(self.sample(text, "parley_http_requests_total", **labels, status="400"), 1)
        self.assertIn("# TYPE parley_http_requests_total counter", text)
        self.assertIn("# TYPE parley_http_request_duration_seconds histogram", text)
        self.assertEqual(
            self.sample(text, "parley_http_request_duration_seconds_count", route="/api/v1/auth/code"), 3
        )
        # The connection asking is open.
        self.assertGreaterEqual(self.sample(text, "parley_http_open_connections"), 1)

    def test_every_commit_of_the_store_is_timed(self):
        self.server.sign_in()  # a code, a user, a session: writes
        text = self.metrics()
        self.assertIn("# TYPE parley_store_commit_seconds histogram", text)
        commits = self.sample(text, "parley_store_commit_seconds_count")
        self.assertGreaterEqual(commits, 1)
        # Read before the histogram on the same page: a write in between would add to it.
        self.assertGreaterEqual(commits, self.sample(text, "parley_store_write_batches_total"))
        self.assertEqual(self.sample(text, "parley_store_commit_seconds_bucket", le="+Inf"), commits)
        self.assertGreater(self.sample(text, "parley_store_commit_seconds_sum"), 0)

    def test_metrics_count_grows(self):
        before = self.sample(self.metrics(), "parley_http_requests_total", route="/healthz", method="GET", status="200") or 0
        self.assertTrue(self.server.healthy())
        self.assertTrue(self.server.healthy())
        after = self.sample(self.metrics(), "parley_http_requests_total", route="/healthz", method="GET", status="200")
        self.assertEqual(after, before + 2)


def store_counts(test, server, names):
    """The store's counters `parley_store_NAME_total` from the server's /metrics."""
    response = server.get("/metrics")
    test.assertEqual(response.status, 200)
    samples = parse_metrics(response.body.decode())
    return {name: samples[(f"parley_store_{name}_total", ())] for name in names}


class ReadsOnTheIoThreadTest(ServerTestCase):
    """SQLite's reads run on the I/O thread that asks for them (within
    --io-thread-read-budget), or all on reader threads with a budget of zero."""

    flags = None

    def read_counts(self, server):
        return store_counts(self, server, ("read_jobs", "reads_here", "reads_moved"))

    def read_some(self, server):
        token = server.sign_in()["token"]
        for _ in range(3):
            self.assertEqual(server.get("/api/v1/conversations", token=token).status, 200)

    def test_reads_run_on_the_io_thread_by_default(self):
        server = self.start_server()
        self.read_some(server)
        counts = self.read_counts(server)
        self.assertGreaterEqual(counts["reads_here"], 4)  # the sessions and the lists
        self.assertLessEqual(counts["reads_here"], counts["read_jobs"])
        # (Whether one moves to a reader depends on its time: not asserted here.)

    def test_a_zero_budget_keeps_every_read_on_reader_threads(self):
        server = self.start_server("--io-thread-read-budget", "0")
        self.read_some(server)
        counts = self.read_counts(server)
        self.assertGreaterEqual(counts["read_jobs"], 4)
        self.assertEqual(counts["reads_here"], 0)
        self.assertEqual(counts["reads_moved"], 0)


class WritesOnTheIoThreadTest(ServerTestCase):
    """Under a light load SQLite's writes commit on the I/O thread that asks for them (while
    the last commit took no longer than --io-thread-commit-budget), or all on the writer
    thread with a budget of zero."""

    def write_counts(self, server):
        return store_counts(self, server, ("write_jobs", "write_batches", "write_batches_here"))

    def test_a_sign_in_commits_on_the_io_thread_within_the_budget(self):
        # The longest budget: a commit on this machine never takes a second, so none is
        # left to the writer thread for its time (the default, 500 µs, could be, under load).
        server = self.start_server("--io-thread-commit-budget", "1000000")
        server.sign_in()  # the code, then the user and the session: one request at a time
        counts = self.write_counts(server)
        self.assertGreaterEqual(counts["write_batches_here"], 1)
        self.assertLessEqual(counts["write_batches_here"], counts["write_batches"])

    def test_a_zero_budget_keeps_every_write_on_the_writer_thread(self):
        server = self.start_server("--io-thread-commit-budget", "0")
        server.sign_in()
        counts = self.write_counts(server)
        self.assertGreaterEqual(counts["write_batches"], 2)
        self.assertEqual(counts["write_batches_here"], 0)


class SlowCommitLogTest(ServerTestCase):
    """--slow-commit logs each commit over it with its stages and its thread's times."""

    def test_commits_over_the_threshold_are_logged_with_their_stages(self):
        server = self.start_server("--slow-commit", "1")  # a microsecond: every commit
        server.sign_in()
        match = server.wait_for_log(
            r"store\.slow_commit engine=sqlite thread=(\S+) jobs=(\d+) flush=(yes|no) "
            r"took_ms=[\d.]+ begin_ms=[\d.]+ jobs_ms=[\d.]+ commit_ms=[\d.]+ runs=1 "
            r"on_cpu_ms=[\d.]+ waiting_for_cpu_ms=[\d.]+ asleep_or_stolen_ms=[\d.]+")
        self.assertRegex(match.group(1), r"^(io-\d+|store-writer)$")
        self.assertGreaterEqual(int(match.group(2)), 1)

    def test_no_commit_is_logged_by_default(self):
        server = self.start_server()
        server.sign_in()
        self.assertEqual(server.stop_cleanly(), 0)
        server.wait_for_log(r"server\.stopped")  # the whole log read
        self.assertNotIn("store.slow_commit", server.log())


class ThreadNamesTest(ServerTestCase):
    """The server's threads carry names for top -H, ps -L and perf."""

    def test_the_threads_are_named_by_their_role(self):
        server = self.start_server("--threads", "2", "--database-readers", "2")
        task = f"/proc/{server.process.pid}/task"
        names = []
        for thread in os.listdir(task):
            with open(f"{task}/{thread}/comm", encoding="utf-8") as comm:
                names.append(comm.read().strip())
        for name in ("io-0", "io-1", "store-writer", "checkpointer", "outbound", "bus",
                     "media-images", "media-files"):
            self.assertIn(name, names)
        self.assertEqual(names.count("store-reader"), 2)


class CommandLineTest(unittest.TestCase):
    def test_help_lists_every_flag(self):
        result = run_parley("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag, variable in (
            ("--listen", "PARLEY_LISTEN"),
            ("--database", "PARLEY_DATABASE"),
            ("--default-region", "PARLEY_DEFAULT_REGION"),
            ("--allowed-origin", "PARLEY_ALLOWED_ORIGINS"),
            ("--message-rate", "PARLEY_MESSAGE_RATE"),
            ("--config", None),
            ("--max-body-bytes", None),
            ("--max-header-bytes", None),
            ("--code-ttl", None),
            ("--code-resend-interval", None),
            ("--code-max-attempts", None),
            ("--codes-per-phone-per-hour", None),
            ("--codes-per-address-per-hour", None),
            ("--trust-proxy", None),
            ("--sms-timeout", None),
            ("--io-thread-read-budget", "PARLEY_IO_THREAD_READ_BUDGET"),
            ("--io-thread-commit-budget", "PARLEY_IO_THREAD_COMMIT_BUDGET"),
            ("--slow-commit", "PARLEY_SLOW_COMMIT"),
        ):
            self.assertRegex(result.stdout, rf"(?m)^\s+(-\w,)?{re.escape(flag)}\b")
            if variable:
                self.assertIn(variable, result.stdout)
        for variable in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_PHONE_NUMBER",
            "TWILIO_VERIFY_SERVICE_SID",
            "TWILIO_API_BASE",
            "TWILIO_VERIFY_API_BASE",
        ):
            self.assertIn(variable, result.stdout)
        self.assertIn("serve", result.stdout)


class InvalidConfigurationTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="parley-e2e-")
        self.addCleanup(self.directory.cleanup)
        self.database = os.path.join(self.directory.name, "parley.db")

    def toml(self, text):
        path = os.path.join(self.directory.name, "parley.toml")
        with open(path, "w") as file:
            file.write(text)
        return path

    def assertRefused(self, arguments, field, env=None):
        try:
            result = run_parley("serve", "--database", self.database, *arguments, env=env, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail(f"started instead of refusing {arguments} {env}")
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn(field, result.stderr)
        self.assertNotIn("server.ready", result.stderr)
        return result

    def test_bad_values_are_refused_naming_the_field(self):
        for arguments, env, field in (
            (["--listen", "nonsense"], None, "listen"),
            (["--listen", "127.0.0.1:99999"], None, "listen"),
            ([], {"PARLEY_LISTEN": "nonsense"}, "listen"),
            ([], {"PARLEY_DEFAULT_REGION": "usa"}, "default_region"),
            (["--default-region", "U1"], None, "default_region"),
            (["--code-ttl", "10"], None, "code_ttl"),
            (["--message-rate", "-1"], None, "message_rate"),
            ([], {"PARLEY_MAX_BODY_BYTES": "lots"}, "max_body_bytes"),
            ([], {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "twilio_auth_token"),
            ([], {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
                  "TWILIO_PHONE_NUMBER": "+15005550006", "TWILIO_API_BASE": "http://api.example.com"},
             "twilio_api_base"),
        ):
            with self.subTest(arguments=arguments, env=env):
                self.assertRefused(arguments, field, env)

    def test_toml_unknown_key_and_syntax_error(self):
        self.assertRefused(["--config", self.toml('listen = "127.0.0.1:0"\nlisten_port = 8080\n')], "listen_port")
        self.assertRefused(["--config", self.toml("listen = \n")], "config")
        self.assertRefused(["--config", self.toml('default_region = "usa"\n')], "default_region")
        self.assertRefused(["--config", os.path.join(self.directory.name, "missing.toml")], "config")


class PrecedenceTest(ServerTestCase):
    """Flags over environment over the TOML file over defaults."""

    flags = None
    GB_NATIONAL, GB_E164 = "020 7946 0018", "+442079460018"

    def toml(self, text):
        path = os.path.join(tempfile.mkdtemp(prefix="parley-e2e-"), "parley.toml")
        self.addCleanup(lambda: (os.remove(path), os.rmdir(os.path.dirname(path))))
        with open(path, "w") as file:
            file.write(text)
        return path

    def national_phone_result(self, server):
        response = server.request_code(self.GB_NATIONAL)
        return response.json()["phone"] if response.status == 202 else response.status

    def test_toml_over_default(self):
        config = self.toml('default_region = "GB"\n')
        server = self.start_server(config=config)
        self.assertEqual(self.national_phone_result(server), self.GB_E164)

    def test_environment_over_toml(self):
        config = self.toml('default_region = "US"\n')
        server = self.start_server(config=config, env={"PARLEY_DEFAULT_REGION": "GB"})
        self.assertEqual(self.national_phone_result(server), self.GB_E164)

    def test_flag_over_environment(self):
        server = self.start_server("--default-region", "US", env={"PARLEY_DEFAULT_REGION": "GB"})
        self.assertEqual(self.national_phone_result(server), 400)  # not a US number

    def test_listen_from_toml_environment_and_flag(self):
        # An invalid lower layer must not matter when a higher one is valid.
        config = self.toml('listen = "nonsense"\n')
        server = self.start_server(config=config, listen=None, env={"PARLEY_LISTEN": "127.0.0.1:0"})
        self.assertTrue(server.healthy())
        server = self.start_server(config=config, env={"PARLEY_LISTEN": "nonsense"})  # the flag wins
        self.assertTrue(server.healthy())
        config = self.toml('listen = "127.0.0.1:0"\n')
        server = self.start_server(config=config, listen=None)
        self.assertTrue(server.healthy())
        # And the environment is not ignored: an invalid value there beats a valid TOML.
        with self.assertRaises(AssertionError):
            self.start_server(config=config, listen=None, env={"PARLEY_LISTEN": "nonsense"})

    def test_config_file_from_the_environment(self):
        config = self.toml('default_region = "GB"\n')
        server = self.start_server(env={"PARLEY_CONFIG": config})
        self.assertEqual(self.national_phone_result(server), self.GB_E164)


class FileLimitTest(unittest.TestCase):
    def test_the_server_takes_the_hard_open_file_limit(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard <= 256:
            self.skipTest(f"the hard limit here ({hard}) leaves nothing to raise")
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the server
        try:
            server = ParleyServer()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        self.addCleanup(server.close)
        match = server.wait_for_log(r"server\.file_limit open_files=(\d+) was=(\d+) hard=(\d+)")
        self.assertEqual(match.groups(), (str(hard), "256", str(hard)))


class StartupFailureTest(unittest.TestCase):
    def test_an_address_in_use_exits_one_with_a_message(self):
        first = ParleyServer()
        self.addCleanup(first.close)
        with tempfile.TemporaryDirectory(prefix="parley-e2e-") as directory:
            result = run_parley("serve", "--listen", f"127.0.0.1:{first.port}",
                                "--database", os.path.join(directory, "second.db"))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("Address already in use", result.stderr)
        self.assertNotIn("terminate called", result.stderr)
        self.assertTrue(first.healthy())


class SigtermTest(unittest.TestCase):
    def setUp(self):
        self.server = ParleyServer()
        self.addCleanup(self.server.close)

    def test_sigterm_exits_zero(self):
        self.assertTrue(self.server.healthy())
        self.server.stop_cleanly()
        self.server.wait_for_log(r"server\.stopped")

    def test_request_in_flight_completes_and_idle_connections_close(self):
        server = self.server
        idle = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.addCleanup(idle.close)
        idle.sendall(f"GET /healthz HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
        self.assertTrue(self.read_response(idle).startswith(b"HTTP/1.1 200 "))

        # A request whose headers the server has read (it answered 100 Continue)...
        body = b'{"phone": "+14155550123"}'
        busy = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.addCleanup(busy.close)
        busy.sendall(
            (f"POST /api/v1/auth/code HTTP/1.1\r\nHost: {server.host}\r\n"
             f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
             "Expect: 100-continue\r\n\r\n").encode()
        )
        self.assertTrue(self.read_response(busy).startswith(b"HTTP/1.1 100 "))
        # ...is still answered after SIGTERM.
        start = server.log_size()
        server.process.send_signal(signal.SIGTERM)
        server.wait_for_log(r"http\.draining", start)
        busy.sendall(body)
        answer = self.read_response(busy)
        self.assertTrue(answer.startswith(b"HTTP/1.1 202 "), answer)
        self.assertRegex(server.wait_for_code(PHONE), r"^[0-9]{6}$")
        self.assertEqual(idle.recv(1024), b"")  # the idle keep-alive connection was closed
        server.exit_status()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((server.host, server.port), timeout=TIMEOUT).close()

    @staticmethod
    def read_response(connection):
        """Reads one response (headers plus a Content-Length body)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest


class HalfOpenWebSocketShutdownTest(unittest.TestCase):
    """SIGTERM while a WebSocket client has stopped reading and never answers the close."""

    def test_the_drain_is_bounded_once(self):
        server = ParleyServer("--drain-timeout", "1")
        self.addCleanup(server.close)
        client = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.addCleanup(client.close)
        client.sendall(
            (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {server.host}\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
             ).encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            self.assertTrue(chunk, "the server closed before answering the upgrade")
            data += chunk
        head, _, frames = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        # The open packet (an unmasked text frame "0{...}") says the session is running.
        while len(frames) < 2 or len(frames) < 2 + (frames[1] & 0x7F):
            chunk = client.recv(4096)
            self.assertTrue(chunk, "the server closed before the open packet")
            frames += chunk
        self.assertEqual(frames[0], 0x81)
        self.assertTrue(frames[2:3] == b"0", frames)
        # From now on the client reads nothing and answers nothing.

        start = server.log_size()
        server.stop_cleanly()
        server.wait_for_log(r"server\.stopped", start)
        drain_timeouts = [line for line in server.log().splitlines() if "http.drain_timeout" in line]
        self.assertLessEqual(len(drain_timeouts), 1, server.log())


if __name__ == "__main__":
    unittest.main()
