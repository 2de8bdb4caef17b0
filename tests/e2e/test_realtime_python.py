"""The real-time layer with Debian's python3-socketio sync client (an independent client),
in its three transport modes: polling only, WebSocket only, and polling then the upgrade.

Normal mode (``parley serve``): authentication at CONNECT with a token or the session
cookie, refusals, logout disconnecting the session's sockets. Compliance mode
(``parley serve --compliance``, the upstream suite's server): namespaces, acks both ways,
binary, a burst of events, a client that stops answering pings, reconnection after the
server goes away. Every wait blocks on an event with a generous timeout; nothing sleeps.
"""

import queue
import re
import sys
import threading
import unittest
import warnings

import engineio
import socketio

import python_client_threads  # noqa: F401  (daemon threads, messages in order: see there)
from parley_harness import PHONE, TIMEOUT, ParleyServer, ServerTestCase

OTHER_PHONE = "+14155550199"
BURST = 1000
# --compliance sets the suite's 300 ms / 200 ms heartbeat, and explicit heartbeat flags win over
# it. A pong is read only after everything the client sent before it, and the client drops a
# connection whose next ping is over pingInterval + pingTimeout late, so on a busy machine (a
# sanitizer build, parallel tests) either side can take the other for dead within 500 ms. The
# tests here give the server a long heartbeat, but for the one of a client that stops
# answering: pings every 300 ms, 2 s to answer (the server's drop is what it waits for).
COMPLIANCE = ("--compliance", "--ping-interval", "5000", "--ping-timeout", "5000")
SHORT_HEARTBEAT = ("--compliance", "--ping-interval", "300", "--ping-timeout", "2000")
# Text that is easy to get wrong: multi-byte UTF-8, an astral character, the polling record
# separator, other control characters, quotes and backslashes.
TRICKY = "héllo ✓ 😀 \x1e sep \x00 nul \n\t \"quoted\" \\ back"


def tearDownModule():
    """Names the client threads still running, if any, for whoever reads the log."""
    stray = [thread.name for thread in threading.enumerate()
             if thread is not threading.main_thread()
             and "_read_log" not in thread.name and thread.name != "messages_in_order"]
    if stray:
        print(f"test_realtime_python: client threads still running: {stray}", file=sys.stderr)


class Events:
    """Collects the client's events in one queue each, from whichever thread delivers them."""

    def __init__(self, sio, *names, namespace="/"):
        self.queues = {}
        for name in names:
            self.queues[name] = queue.Queue()
            sio.on(name, self._handler(name), namespace=namespace)

    def _handler(self, name):
        def handler(*args):
            self.queues[name].put(args)

        return handler

    def next(self, name, timeout=TIMEOUT):
        try:
            return self.queues[name].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no '{name}' event within {timeout} s") from None

    def pending(self, name):
        return self.queues[name].qsize()


class RealtimeCase(ServerTestCase):
    """One transport mode; the subclasses below pick it."""

    transports = None  # the transports option of connect()
    settled_transport = None  # where a connection ends up

    def setUp(self):
        # python-engineio 4.3.4 leaves its own HTTP and WebSocket sockets to the garbage
        # collector; its ResourceWarnings say nothing about the server.
        warnings.simplefilter("ignore", ResourceWarning)
        super().setUp()

    def client(self, **options):
        options.setdefault("reconnection", False)
        sio = socketio.Client(**options)
        self.addCleanup(sio.disconnect)
        if options["reconnection"]:
            self.addCleanup(self.stop_reconnecting, sio)  # runs before the disconnect
        return sio

    @staticmethod
    def stop_reconnecting(sio):
        """python-socketio's disconnect() does not stop a reconnection loop: end it here."""
        if sio._reconnect_abort is not None:
            sio._reconnect_abort.set()
        task = sio._reconnect_task
        if task is not None:
            task.join(TIMEOUT)

    def connect(self, sio, server=None, **options):
        options.setdefault("wait_timeout", TIMEOUT)
        sio.connect((server or self.server).origin, transports=self.transports, **options)
        self.assertTrue(sio.connected)
        self.assertEqual(sio.transport(), self.settled_transport)

    def refused(self, sio, namespace="/", **options):
        """Connects expecting CONNECT_ERROR on ``namespace``; returns its data.

        ``wait=False``: connect() would otherwise wait out its whole wait_timeout after a
        refusal (python-socketio 5.7.2 keeps waiting for the namespaces it asked for)."""
        errors = queue.Queue()
        sio.on("connect_error", lambda *data: errors.put(data), namespace=namespace)
        sio.connect(self.server.origin, transports=self.transports, wait=False, **options)
        try:
            data = errors.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError("no connect_error event") from None
        self.assertNotIn(namespace, sio.namespaces)
        return data[0] if data else None


def sign_in(server, phone, name):
    """Signs in; returns (token, the value of the parley_session cookie set by verify)."""
    assert server.request_code(phone).status == 202
    response = server.verify(phone, server.wait_for_code(phone), name)
    assert response.status == 200, response
    cookies = " ".join(response.headers.get_all("Set-Cookie") or [])
    match = re.search(r"parley_session=([^;\s]+)", cookies)
    assert match, f"no parley_session cookie: {cookies}"
    return response.json()["token"], match.group(1)


def count_pings(sio):
    """A Condition and a counter of the Engine.IO pings ``sio`` receives from now on."""
    state = {"pings": 0}
    condition = threading.Condition()
    receive = sio.eio._receive_packet

    def recording(pkt):
        if pkt.packet_type == engineio.packet.PING:
            with condition:
                state["pings"] += 1
                condition.notify_all()
        return receive(pkt)

    sio.eio._receive_packet = recording
    return condition, state


class NormalMode:
    """``parley serve``: authentication at CONNECT, logout."""

    flags = ("--ping-interval", "200", "--ping-timeout", "10000")

    def test_connect_with_token(self):
        token = self.server.sign_in(PHONE, "Alice")["token"]
        sio = self.client()
        self.connect(sio, auth={"token": token})
        sid = sio.get_sid("/")
        self.assertIsInstance(sid, str)
        self.assertTrue(sid)
        self.assertNotEqual(sid, sio.eio.sid, "the socket id must not be the Engine.IO sid")

    def test_connect_refused_without_a_valid_token(self):
        token = self.server.sign_in(PHONE, "Alice")["token"]
        for what, options in (
            ("no auth", {}),
            ("empty auth", {"auth": {}}),
            ("unknown token", {"auth": {"token": "not-a-token"}}),
            ("altered token", {"auth": {"token": token[:-1] + ("B" if token.endswith("A") else "A")}}),
            ("token of the wrong type", {"auth": {"token": 12345}}),
            ("unknown cookie", {"headers": {"Cookie": "parley_session=not-a-token"}}),
        ):
            with self.subTest(what):
                error = self.refused(self.client(), **options)
                self.assertEqual(error, {"message": "unauthorized"})
        sio = self.client()
        self.connect(sio, auth={"token": token})

    def test_connect_with_cookie(self):
        _, cookie = sign_in(self.server, PHONE, "Alice")
        sio = self.client()
        self.connect(sio, headers={"Cookie": f"parley_session={cookie}"})
        self.assertIsInstance(sio.get_sid("/"), str)

    def test_other_namespace_refused(self):
        token = self.server.sign_in(PHONE, "Alice")["token"]
        error = self.refused(self.client(), namespace="/admin", namespaces=["/admin"],
                             auth={"token": token})
        self.assertEqual(error, {"message": "Invalid namespace"})

    def test_logout_disconnects_the_sessions_sockets_without_reconnection(self):
        alice, alice_cookie = sign_in(self.server, PHONE, "Alice")
        bob, _ = sign_in(self.server, OTHER_PHONE, "Bob")
        fast = {"reconnection": True, "reconnection_delay": 0.05, "reconnection_delay_max": 0.05,
                "randomization_factor": 0}
        by_token, by_cookie, other = self.client(**fast), self.client(**fast), self.client(**fast)
        dropped = {sio: threading.Event() for sio in (by_token, by_cookie, other)}
        for sio, event in dropped.items():
            sio.on("disconnect", event.set)
        self.connect(by_token, auth={"token": alice})
        self.connect(by_cookie, headers={"Cookie": f"parley_session={alice_cookie}"})
        self.connect(other, auth={"token": bob})
        read_loops = [by_token.eio.read_loop_task, by_cookie.eio.read_loop_task]
        pinged, pings = count_pings(other)

        response = self.server.post("/api/v1/auth/logout", token=alice)
        self.assertEqual(response.status, 204, response)
        for sio in (by_token, by_cookie):
            self.assertTrue(dropped[sio].wait(TIMEOUT), "disconnect event")
        for task in read_loops:
            task.join(TIMEOUT)
            self.assertFalse(task.is_alive())
        for sio in (by_token, by_cookie):
            self.assertFalse(sio.connected)
            self.assertIsNone(sio._reconnect_task, "no reconnection after a server DISCONNECT")
            self.assertIn(sio.eio.state, ("disconnecting", "disconnected"))
        # Bob's socket is untouched: two heartbeats later (each a round trip) it is still on.
        with pinged:
            seen = pings["pings"]
            self.assertTrue(pinged.wait_for(lambda: pings["pings"] >= seen + 2, TIMEOUT), "two pings")
        self.assertFalse(dropped[other].is_set())
        self.assertTrue(other.connected)
        # The revoked token no longer connects.
        self.assertEqual(self.refused(self.client(), auth={"token": alice}), {"message": "unauthorized"})


class ComplianceMode:
    """``parley serve --compliance``: the upstream Socket.IO suite's server."""

    flags = COMPLIANCE

    def test_auth_on_main_and_custom_namespaces(self):
        sio = self.client()
        main = Events(sio, "auth")
        custom = Events(sio, "auth", namespace="/custom")
        self.connect(sio, namespaces=["/", "/custom"], auth={"token": "py-123"})
        self.assertEqual(main.next("auth"), ({"token": "py-123"},))
        self.assertEqual(custom.next("auth"), ({"token": "py-123"},))
        self.assertNotEqual(sio.get_sid("/"), sio.get_sid("/custom"))

        bare = self.client()
        events = Events(bare, "auth")
        self.connect(bare)
        self.assertEqual(events.next("auth"), ({},))

    def test_unknown_namespace_refused(self):
        error = self.refused(self.client(), namespace="/random", namespaces=["/random"])
        self.assertEqual(error, {"message": "Invalid namespace"})

    def test_ack_client_to_server(self):
        sio = self.client()
        self.connect(sio)
        self.assertEqual(sio.call("message-with-ack", (1, "2", {"3": [True]}), timeout=TIMEOUT),
                         (1, "2", {"3": [True]}))
        self.assertEqual(sio.call("message-with-ack", TRICKY, timeout=TIMEOUT), TRICKY)
        self.assertEqual(sio.call("message-with-ack", ({"a": None, "b": 1.5},), timeout=TIMEOUT),
                         {"a": None, "b": 1.5})
        self.assertEqual(sio.call("message-with-ack", (b"\x01\x02", {"x": [b"\xff"]}), timeout=TIMEOUT),
                         (b"\x01\x02", {"x": [b"\xff"]}))

    def test_ack_server_to_client(self):
        sio = self.client()
        answers = Events(sio, "answer")
        questions = []

        @sio.on("question")
        def question(*args):
            questions.append(args)
            return ("reply to",) + args  # a tuple: several ack arguments

        self.connect(sio)
        for args in ((1, "two", {"three": [3]}), (TRICKY,), (b"\x00\x01\x02",)):
            sio.emit("ask", args)
            self.assertEqual(answers.next("answer"), ("reply to",) + args)
        self.assertEqual(len(questions), 3)

    def test_binary_round_trip(self):
        sio = self.client()
        events = Events(sio, "message-back")
        self.connect(sio)
        large = bytes((i * 7919) % 256 for i in range(100_000))
        for args in (
            (b"\x01\x02\x03\x04",),
            (b"",),
            (b"\x1e\x00\xff\x62\x34",),
            ("text first", b"abc", 42, {"nested": {"deep": [b"\x09", "x", b"\x08\x07"]}}),
            ({"a": b"\x01", "b": [b"\x02", {"c": b"\x03"}]}, b"\x04"),
            (large,),
        ):
            sio.emit("message", args)
            self.assertEqual(events.next("message-back"), args)

    def test_burst_arrives_complete_and_in_order(self):
        sio = self.client()
        received = []
        done = threading.Event()
        lock = threading.Lock()

        @sio.on("message-back")
        def back(index, text):
            with lock:
                received.append((index, text))
                if len(received) == BURST:
                    done.set()

        lost = threading.Event()
        sio.on("disconnect", lost.set)
        self.connect(sio)
        # python-engineio 4.3.4 runs each message's handler on a thread of its own, so the
        # order is checked where the client reads the wire, before that hand-off.
        wire = []
        receive = sio.eio._receive_packet

        def recording(pkt):
            if pkt.packet_type == engineio.packet.MESSAGE and isinstance(pkt.data, str) \
                    and pkt.data.startswith('2["message-back"'):
                wire.append(pkt.data)
            return receive(pkt)

        sio.eio._receive_packet = recording
        for i in range(BURST):
            sio.emit("message", (i, f"{TRICKY} #{i}"))
        if not done.wait(TIMEOUT):
            self.fail(f"{len(received)} of {BURST} events, connected={sio.connected}, "
                      f"disconnect event: {lost.is_set()}. (python-engineio 4.3.4 drops a "
                      "polling connection whose GET response holds more than 16 packets.) "
                      "Server log:\n" + self.server.log())
        self.assertEqual(sorted(received), [(i, f"{TRICKY} #{i}") for i in range(BURST)])
        self.assertEqual(len(wire), BURST)
        indices = [int(data.split(",", 2)[1]) for data in wire]
        self.assertEqual(indices, list(range(BURST)), "in order on the wire")

    def test_client_that_stops_answering_pings_is_dropped(self):
        self.server.close()
        self.server = self.start_server(*SHORT_HEARTBEAT)
        sio = self.client()
        dropped = threading.Event()
        sio.on("disconnect", dropped.set)
        self.connect(sio)
        eio = sio.eio
        send = eio._send_packet
        eio._send_packet = lambda pkt: None if pkt.packet_type == engineio.packet.PONG else send(pkt)
        if eio.current_transport == "websocket":
            # The client's own read timeout (pingInterval + pingTimeout) off: only the server
            # can end this connection now.
            eio.ws.settimeout(None)
        self.assertTrue(dropped.wait(TIMEOUT), "the server drops a client that does not pong")
        self.assertFalse(sio.connected)
        other = self.client()
        self.connect(other)
        self.assertEqual(other.call("message-with-ack", "ok", timeout=TIMEOUT), "ok")

    def test_reconnects_after_the_server_comes_back(self):
        self.server.close()  # this test runs its own two servers on one port
        first = self.start_server(*COMPLIANCE)
        sio = self.client(reconnection=True, reconnection_delay=0.05, reconnection_delay_max=0.1,
                          randomization_factor=0)
        events = Events(sio, "auth", "connect", "disconnect")
        self.connect(sio, server=first, auth={"token": "again"})
        self.assertEqual(events.next("connect"), ())
        self.assertEqual(events.next("auth"), ({"token": "again"},))
        first_sid = sio.get_sid("/")

        # The server goes away at once (SIGKILL: the kernel closes its connections). Not a
        # SIGTERM drain: python-engineio 4.3.4 takes the close packet a drain answers a held
        # polling GET with as a deliberate close and does not reconnect (the node tests cover
        # reconnection after a drain).
        first.kill()
        events.next("disconnect")
        second = self.start_server(*COMPLIANCE, listen=f"127.0.0.1:{first.port}")
        self.assertEqual(events.next("connect"), ())
        self.assertEqual(events.next("auth"), ({"token": "again"},), "auth sent again")
        self.assertNotEqual(sio.get_sid("/"), first_sid)
        self.assertEqual(sio.call("message-with-ack", "after", timeout=TIMEOUT), "after")
        self.assertEqual(second.port, first.port)


class Polling:
    transports = ["polling"]
    settled_transport = "polling"


class WebSocketOnly:
    transports = ["websocket"]
    settled_transport = "websocket"


class PollingThenUpgrade:
    transports = ["polling", "websocket"]
    settled_transport = "websocket"


class NormalPollingTest(Polling, NormalMode, RealtimeCase):
    pass


class NormalWebSocketTest(WebSocketOnly, NormalMode, RealtimeCase):
    pass


class NormalUpgradeTest(PollingThenUpgrade, NormalMode, RealtimeCase):
    pass


class CompliancePollingTest(Polling, ComplianceMode, RealtimeCase):
    pass


class ComplianceWebSocketTest(WebSocketOnly, ComplianceMode, RealtimeCase):
    pass


class ComplianceUpgradeTest(PollingThenUpgrade, ComplianceMode, RealtimeCase):
    pass


del RealtimeCase  # the abstract base is not a test of its own

if __name__ == "__main__":
    unittest.main()
