"""The python3-socketio sync client of the end-to-end tests: ``Chat``, one Socket.IO
connection that records the server's events in the order they arrive on the wire, and
``WindowedStream``, a thread that emits calls on one ``Chat`` with a window of them in flight
until they run out or the connection ends.

python-engineio 4.3.4 hands every received message to a handler thread of its own, so the
order in which handlers run says nothing about the order the server sent things in. ``Chat``
reads the events where the client reads the wire (the Engine.IO read loop), before that
hand-off, and queues them per event name in that order. Every wait blocks on a queue or an
ack with the harness TIMEOUT, which only bounds failures; nothing sleeps.
"""

import collections
import queue
import threading
import time
import urllib.parse
import uuid

import engineio
import engineio.payload
import socketio
from socketio import packet as sio_packet

import python_client_threads  # noqa: F401  (daemon threads, messages in order: see there)
from parley_harness import TIMEOUT

# python-engineio 4.3.4 refuses (and drops the connection on) a polling response with more
# than 16 packets, a limit of its own that the official clients do not have: a server may
# well answer a held GET with a few acks, messages and receipts together.
engineio.payload.Payload.max_decode_packets = 100_000


def new_client_id():
    return uuid.uuid4().hex


def message_payload(body, conversation_id=None, to=None, client_id=None, reply_to=None):
    payload = {"body": body, "client_id": client_id or new_client_id()}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    if to is not None:
        payload["to"] = to
    if reply_to is not None:
        payload["reply_to"] = reply_to
    return payload


class Chat:
    """One Socket.IO connection of one user (python3-socketio's sync client)."""

    def __init__(self, server, token=None, transports=("websocket",), headers=None):
        self.server = server
        self.token = token
        self.transports = list(transports)
        self.headers = headers
        self.sio = socketio.Client(reconnection=False)
        self.lock = threading.Lock()  # emits from several threads
        self.condition = threading.Condition()
        self.events = []  # (name, args, ack id or None) of every server event, wire order
        self.queues = collections.defaultdict(queue.Queue)  # name -> args, wire order
        self.disconnected = threading.Event()
        self.ever_connected = False
        self.disconnect_callbacks = []  # called (no arguments) when the connection ends
        self.sio.on("disconnect", self._on_disconnect)
        receive = self.sio.eio._receive_packet

        def recording(pkt):
            if pkt.packet_type == engineio.packet.MESSAGE and isinstance(pkt.data, str):
                try:
                    decoded = sio_packet.Packet(encoded_packet=pkt.data)
                except Exception:  # noqa: BLE001 - anything odd is the library's business
                    decoded = None
                if decoded is not None and decoded.packet_type == sio_packet.EVENT \
                        and isinstance(decoded.data, list) and decoded.data:
                    name, args = decoded.data[0], tuple(decoded.data[1:])
                    with self.condition:
                        self.events.append((name, args, decoded.id))
                        self.queues[name].put(args)
                        self.condition.notify_all()
            return receive(pkt)

        self.sio.eio._receive_packet = recording

    # -- connection -------------------------------------------------------------------

    def _on_disconnect(self):
        self.disconnected.set()
        for callback in list(self.disconnect_callbacks):
            callback()

    def connect(self):
        options = {"transports": self.transports, "wait_timeout": TIMEOUT}
        if self.token is not None:
            options["auth"] = {"token": self.token}
        if self.headers is not None:
            options["headers"] = self.headers
        self.disconnected.clear()
        self.sio.connect(self.server.origin, **options)
        assert self.sio.connected
        self.ever_connected = True
        return self

    def disconnect(self):
        """Disconnects and waits until the client has seen the connection end."""
        if not self.ever_connected:
            return
        eio = self.sio.eio
        polling_url = eio.base_url if self.sio.connected and eio.current_transport == "polling" \
            else None
        if self.sio.connected:
            self.sio.disconnect()
        if polling_url:
            # python-engineio 4.3.4's write loop ends as soon as its state leaves "connected",
            # so the DISCONNECT and CLOSE packets disconnect() queued may never be posted (the
            # server then learns of the departure only from the heartbeat). Post them here; a
            # 400 means the session is already closed.
            url = urllib.parse.urlsplit(polling_url)
            try:
                self.server.request("POST", f"{url.path}?{url.query}", body="41\x1e1",
                                    headers={"Content-Type": "text/plain;charset=UTF-8"})
            except OSError:
                pass  # the server is gone
        self.disconnected.wait(TIMEOUT)
        task = getattr(self.sio.eio, "read_loop_task", None)
        if task is not None:
            task.join(TIMEOUT)

    @property
    def connected(self):
        return self.sio.connected

    # -- client -> server -------------------------------------------------------------

    def call(self, event, *args):
        """Emits ``event`` with ``args`` (each one Socket.IO argument) and returns the ack's
        arguments as a tuple."""
        done = threading.Event()
        answer = []

        def callback(*ack):
            answer.append(ack)
            done.set()

        self.disconnect_callbacks.append(done.set)
        try:
            with self.lock:
                self.sio.emit(event, data=tuple(args), callback=callback)
            if not done.wait(TIMEOUT):
                raise AssertionError(f"no ack for {event!r} {args!r}"[:500] + f" within {TIMEOUT} s")
        finally:
            self.disconnect_callbacks.remove(done.set)
        if not answer:
            raise AssertionError(f"the connection closed before the ack for {event!r} {args!r}"[:500])
        return answer[0]

    def ack(self, event, *args):
        """Like ``call`` for an event answered with exactly one ack argument: returns it."""
        answer = self.call(event, *args)
        assert len(answer) == 1, f"{event}: ack with {len(answer)} arguments: {answer!r}"
        return answer[0]

    def emit(self, event, *args, callback=None):
        with self.lock:
            self.sio.emit(event, data=tuple(args), callback=callback)

    def send(self, body, conversation_id=None, to=None, client_id=None):
        """message:send; returns the ack (a dict)."""
        return self.ack("message:send", message_payload(body, conversation_id, to, client_id))

    def send_many(self, payloads, window=16):
        """Sends every payload with at most ``window`` unanswered; returns the acks in the
        payloads' order."""
        acks = [None] * len(payloads)
        state = {"in_flight": 0, "answered": 0}
        condition = threading.Condition()

        def answered(index):
            def callback(*args):
                with condition:
                    acks[index] = args[0] if len(args) == 1 else args
                    state["in_flight"] -= 1
                    state["answered"] += 1
                    condition.notify_all()

            return callback

        for index, payload in enumerate(payloads):
            with condition:
                if not condition.wait_for(lambda: state["in_flight"] < window, TIMEOUT):
                    raise AssertionError(f"send_many: no ack within {TIMEOUT} s "
                                         f"({state['answered']} of {len(payloads)} answered)")
                state["in_flight"] += 1
            self.emit("message:send", payload, callback=answered(index))
        with condition:
            if not condition.wait_for(lambda: state["answered"] == len(payloads), TIMEOUT):
                raise AssertionError(f"send_many: {state['answered']} of {len(payloads)} acks")
        return acks

    # -- server -> client -------------------------------------------------------------

    def next(self, name, timeout=TIMEOUT):
        """The arguments of the next ``name`` event (wire order)."""
        try:
            return self.queues[name].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no '{name}' event within {timeout} s") from None

    def next_payload(self, name, timeout=TIMEOUT):
        args = self.next(name, timeout)
        assert len(args) == 1, f"'{name}' with {len(args)} arguments: {args!r}"
        return args[0]

    def wait_for(self, name, predicate, timeout=TIMEOUT):
        """Takes ``name`` events until one's payload satisfies ``predicate``; returns it and
        the ones skipped on the way."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no '{name}' event as expected within {timeout} s; "
                                     f"seen: {skipped!r}"[:2000])
            payload = self.next_payload(name, remaining)
            if predicate(payload):
                return payload, skipped
            skipped.append(payload)

    def pending(self, name):
        return self.queues[name].qsize()

    def count(self, name):
        with self.condition:
            return sum(1 for event, _, _ in self.events if event == name)

    def wait_count(self, name, count, timeout=TIMEOUT):
        """Waits until ``count`` events ``name`` have arrived in all."""
        with self.condition:
            if not self.condition.wait_for(
                    lambda: sum(1 for event, _, _ in self.events if event == name) >= count,
                    timeout):
                seen = sum(1 for event, _, _ in self.events if event == name)
                raise AssertionError(f"{seen} of {count} '{name}' events within {timeout} s")

    def payloads(self, name):
        """Every ``name`` payload received so far, wire order (does not consume the queue)."""
        with self.condition:
            return [args[0] if len(args) == 1 else args
                    for event, args, _ in self.events if event == name]

    def ack_ids(self, name):
        """The ack ids the server asked for with each ``name`` event (None: no ack asked)."""
        with self.condition:
            return [ack_id for event, _, ack_id in self.events if event == name]


class WindowedStream(threading.Thread):
    """Emits the (event, payload) pairs of ``calls`` (an iterable, endless or not) in order on
    one ``Chat``, at most ``window`` of them unanswered, until they run out or the connection
    ends; calls ``on_ack()`` after each ack. A subclass records what it needs: ``sent(index,
    payload)`` runs after each emit, ``answered(index, payload, ack)`` with each ack (under
    ``condition``). A failure of the stream itself is kept in ``failure``."""

    def __init__(self, chat, calls, window, on_ack, name="stream"):
        super().__init__(name=name, daemon=True)
        self.chat = chat
        self.calls = calls
        self.window = window
        self.on_ack = on_ack
        self.condition = threading.Condition()
        self.in_flight = 0
        self.stopped = False
        self.failure = None
        chat.disconnect_callbacks.append(self.stop)

    def sent(self, index, payload):
        """Call ``index`` was emitted."""

    def answered(self, index, payload, ack):
        """Call ``index`` was acknowledged with ``ack`` (its one argument, else them all)."""

    def stop(self):
        with self.condition:
            self.stopped = True
            self.condition.notify_all()

    def _callback(self, index, payload):
        def callback(*args):
            ack = args[0] if len(args) == 1 else args
            with self.condition:
                self.in_flight -= 1
                self.answered(index, payload, ack)
                self.condition.notify_all()
            self.on_ack()

        return callback

    def run(self):
        try:
            for index, (event, payload) in enumerate(self.calls):
                with self.condition:
                    if not self.condition.wait_for(
                            lambda: self.stopped or self.in_flight < self.window, TIMEOUT):
                        raise AssertionError(f"{self.name}: no ack and no disconnection "
                                             f"within {TIMEOUT} s")
                    if self.stopped:
                        return
                    self.in_flight += 1
                try:
                    self.chat.emit(event, payload, callback=self._callback(index, payload))
                except Exception:  # noqa: BLE001 - the connection is gone (BadNamespaceError)
                    return
                self.sent(index, payload)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.failure = error
