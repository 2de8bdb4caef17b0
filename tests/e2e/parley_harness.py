"""Shared helpers for Parley's end-to-end tests (Python 3 standard library only).

``ParleyServer`` starts the real binary on a free loopback port with its own temporary
database, reads its log in a background thread (the development sender's codes come from
there) and speaks HTTP to it. Nothing here sleeps to synchronise: every wait blocks on the
log stream, the process or a response, with a generous timeout that only bounds failures.
"""

import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

BINARY = os.environ.get("PARLEY_BINARY") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "parley"
)
TIMEOUT = 20  # seconds; only reached when something is broken
PHONE = "+14155550123"
LISTENING = re.compile(r"\bhttp\.listening address=(\S+):(\d+)")
READY = re.compile(r"\bserver\.ready\b")
DEV_SMS = re.compile(r"\bsms\.development to=(\S+) code=(\d+)")
# The first line of an AddressSanitizer or UndefinedBehaviorSanitizer report.
SANITIZER_REPORT = re.compile(r"==\d+==ERROR: |runtime error: |terminate called")


def parse_metrics(text):
    """{(name, labels as a sorted tuple of pairs): value} of a Prometheus text page; a line
    that is not a well-formed sample fails the test."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*)\})?'
                         r' ([-+0-9.eE]+|[-+]Inf)$', line)
        if match is None:
            raise AssertionError(f"not a Prometheus sample: {line!r}")
        labels = tuple(sorted(re.findall(r'([a-z_]+)="([^"]*)"', match.group(2) or "")))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: .get(name), .get_all(name)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def run_parley(*arguments, env=None, timeout=TIMEOUT):
    """Runs the binary to completion (for --help and invalid configurations)."""
    return subprocess.run(
        [BINARY, *arguments],
        env=_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def _environment(extra):
    # The tests own the configuration: drop anything the caller's shell may have set.
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PARLEY_", "TWILIO_"))
    }
    # Two I/O threads whatever the machine's cores, so that a sender and a receiver on different
    # threads (the hand-offs between them) are exercised on a 2-core machine too.
    base["PARLEY_THREADS"] = "2"
    base.update(extra or {})
    return base


# The engine the servers run on: SQLite by default; with PARLEY_E2E_DATABASE=postgres (ctest's
# *_postgres variants) each server directory gets a schema of its own in the test PostgreSQL
# that the `services` fixture started (PARLEY_TEST_SERVICES), dropped with the directory.
ENGINE = os.environ.get("PARLEY_E2E_DATABASE", "sqlite")


def _psql(url, sql):
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=TIMEOUT)


def _postgres_server_url():
    services = os.environ.get("PARLEY_TEST_SERVICES")
    if not services:
        raise RuntimeError("PARLEY_E2E_DATABASE=postgres needs PARLEY_TEST_SERVICES (run through ctest)")
    with open(os.path.join(services, "postgres.url"), encoding="utf-8") as file:
        return file.read().strip()


def database_for(directory):
    """The --database of a server whose files live in ``directory`` (made on first use)."""
    if ENGINE != "postgres":
        return os.path.join(directory, "parley.db")
    marker = os.path.join(directory, "postgres-schema")
    if not os.path.exists(marker):
        schema = "e2e_" + os.urandom(6).hex()
        _psql(_postgres_server_url(), f"CREATE SCHEMA {schema}")
        with open(marker, "w", encoding="utf-8") as file:
            file.write(schema)
    with open(marker, encoding="utf-8") as file:
        schema = file.read().strip()
    return f"{_postgres_server_url()}?options=-csearch_path%3D{schema}"


def new_postgres_schema():
    """A fresh schema in the fixture's PostgreSQL, whatever PARLEY_E2E_DATABASE says: the
    --database of servers that share one database (the nodes of a cluster). Returns
    (url, schema); drop_postgres_schema(schema) removes it."""
    schema = "e2e_" + os.urandom(6).hex()
    _psql(_postgres_server_url(), f"CREATE SCHEMA {schema}")
    return f"{_postgres_server_url()}?options=-csearch_path%3D{schema}", schema


def drop_postgres_schema(schema):
    _psql(_postgres_server_url(),
          f"SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE")


def drop_database(directory):
    marker = os.path.join(directory, "postgres-schema")
    if ENGINE == "postgres" and os.path.exists(marker):
        with open(marker, encoding="utf-8") as file:
            _psql(_postgres_server_url(), f"DROP SCHEMA IF EXISTS {file.read().strip()} CASCADE")


class ParleyServer:
    """One ``parley serve`` process on 127.0.0.1 with a database in a temporary directory
    (or, with PARLEY_E2E_DATABASE=postgres, a PostgreSQL schema of its own).

    ``directory`` reuses a previous server's directory (and so its database). ``database``
    gives the --database instead (servers sharing one: see new_postgres_schema; its owner
    drops it). ``condition``: a threading.Condition shared with other servers, notified
    for every log line of each, to wait for a line from whichever of them logs it.
    """

    def __init__(self, *flags, env=None, directory=None, listen="127.0.0.1:0", config=None,
                 database=None, condition=None):
        self.owns_directory = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="parley-e2e-")
        self.database = database or database_for(self.directory)
        command = [BINARY, "serve"]
        if listen is not None:
            command += ["--listen", listen]
        command += ["--database", self.database]
        if config is not None:
            command += ["--config", config]
        command += list(flags)
        self.lock = condition or threading.Condition()
        self.lines = []
        self.codes = collections.defaultdict(collections.deque)  # phone -> unread codes
        self.closed = False
        try:
            self.process = subprocess.Popen(
                command,
                env=_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError:
            self.cleanup()
            raise
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        try:
            listening = self.wait_for_log(LISTENING)
            self.wait_for_log(READY)
        except Exception:
            self.close()
            raise
        self.host, self.port = listening.group(1), int(listening.group(2))
        self.origin = f"http://{self.host}:{self.port}"

    # -- the log ----------------------------------------------------------------------

    def _read_log(self):
        for line in self.process.stderr:
            with self.lock:
                self.lines.append(line.rstrip("\n"))
                match = DEV_SMS.search(line)
                if match:
                    self.codes[match.group(1)].append(match.group(2))
                self.lock.notify_all()
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern, start=0, timeout=TIMEOUT):
        """The first match of ``pattern`` in log lines from index ``start`` on."""
        pattern = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.lock:
            index = start
            while True:
                while index < len(self.lines):
                    match = pattern.search(self.lines[index])
                    if match:
                        return match
                    index += 1
                if self.closed:
                    raise AssertionError(f"server exited without logging {pattern.pattern!r}:\n"
                                         + "\n".join(self.lines))
                if not self.lock.wait(deadline - time.monotonic()):
                    raise AssertionError(f"timed out waiting for {pattern.pattern!r}:\n"
                                         + "\n".join(self.lines))

    def log_size(self):
        with self.lock:
            return len(self.lines)

    def wait_for_code(self, phone=PHONE, timeout=TIMEOUT):
        """The next code the development sender logged for ``phone`` (oldest first)."""
        with self.lock:
            if not self.lock.wait_for(lambda: self.codes[phone] or self.closed, timeout):
                raise AssertionError(f"no code for {phone} in the log:\n" + "\n".join(self.lines))
            if not self.codes[phone]:
                raise AssertionError(f"server exited before sending a code to {phone}")
            return self.codes[phone].popleft()

    def unread_codes(self):
        """{phone: [codes not yet taken by wait_for_code]}. The log is ordered, so this is
        exact for everything sent before a code that wait_for_code already returned."""
        with self.lock:
            return {phone: list(codes) for phone, codes in self.codes.items() if codes}

    # -- HTTP -------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, token=None, cookie=None):
        """One request on a fresh connection. ``body``: dict/list (sent as JSON), str/bytes."""
        return http_request(self.host, self.port, method, path, body, headers, token, cookie)

    def get(self, path, **options):
        return self.request("GET", path, **options)

    def post(self, path, body=None, **options):
        return self.request("POST", path, body=body, **options)

    def request_code(self, phone=PHONE, **options):
        return self.post("/api/v1/auth/code", {"phone": phone}, **options)

    def verify(self, phone=PHONE, code=None, name=None, **options):
        body = {"phone": phone, "code": code}
        if name is not None:
            body["name"] = name
        return self.post("/api/v1/auth/verify", body, **options)

    def sign_in(self, phone=PHONE, name="Alice"):
        """Signs in with the development sender; returns the verify response's JSON."""
        response = self.request_code(phone)
        assert response.status == 202, response
        response = self.verify(phone, self.wait_for_code(phone), name)
        assert response.status == 200, response
        return response.json()

    def healthy(self):
        response = self.get("/healthz")
        return response.status == 200 and response.json().get("status") == "ok"

    # -- life cycle -------------------------------------------------------------------

    def exit_status(self, timeout=TIMEOUT):
        """Waits for the process to end (a signal was sent); returns 0 or fails with the
        sanitizer's report, else the end of the server's log."""
        status = self.process.wait(timeout)
        if status != 0:
            self.reader.join(timeout)
            start = next((i for i, line in enumerate(self.lines) if SANITIZER_REPORT.search(line)),
                         max(len(self.lines) - 80, 0))
            raise AssertionError(f"the server exited with status {status}; its log from line "
                                 f"{start + 1}:\n" + "\n".join(self.lines[start:]))
        return status

    def stop_cleanly(self, timeout=TIMEOUT):
        """SIGTERM, then exit_status()."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.exit_status(timeout)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)
        self.reader.join(TIMEOUT)

    def cleanup(self):
        if self.owns_directory:
            drop_database(self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)

    def close(self):
        self.kill()
        self.process.stderr.close()
        self.cleanup()


def http_request(host, port, method, path, body=None, headers=None, token=None, cookie=None):
    """One request on a fresh connection. ``body``: dict/list (sent as JSON), str/bytes."""
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        headers["Cookie"] = f"parley_session={cookie}"
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def send_raw(host, port, data, read_until_close=True):
    """Writes raw bytes on a socket and returns everything read until the server closes."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as connection:
        connection.sendall(data)
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if not read_until_close and b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


class ServerTestCase(unittest.TestCase):
    """A fresh server (development sender) per test; ``flags``/``env`` customise it.

    With ``flags = None`` no server is started: the test calls ``start_server`` itself.
    """

    flags = ()
    env = None

    def setUp(self):
        if self.flags is not None:
            self.server = self.start_server(*self.flags, env=self.env)

    def start_server(self, *flags, **options):
        server = ParleyServer(*flags, **options)
        self.addCleanup(server.close)
        return server

    def assertError(self, response, status, code=None):
        """``response`` is an error of this status (and code), in the contract's shape."""
        self.assertEqual(response.status, status, response)
        self.assertTrue(
            response.headers.get("Content-Type", "").startswith("application/json"), response
        )
        body = response.json()
        self.assertIsInstance(body, dict, response)
        self.assertIsInstance(body.get("error"), dict, response)
        self.assertRegex(body["error"].get("code", ""), r"^[a-z]+(_[a-z]+)*$", response)
        if code is not None:
            self.assertEqual(body["error"]["code"], code, response)
        self.assertIsInstance(body["error"].get("message"), str, response)
        self.assertTrue(body["error"]["message"], response)
        return body["error"]

    def assertRetryAfter(self, response, at_least=1, at_most=None):
        value = response.headers.get("Retry-After")
        self.assertIsNotNone(value, f"429 without Retry-After: {response}")
        self.assertRegex(value, r"^[0-9]+$")
        seconds = int(value)
        self.assertGreaterEqual(seconds, at_least)
        if at_most is not None:
            self.assertLessEqual(seconds, at_most)
        return seconds
