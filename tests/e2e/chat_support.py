"""Helpers for the chat end-to-end tests (test_chat_*.py): users, the REST calls of the
contract's "Contacts" and "Conversations" sections, the v2 shapes (message and conversation
objects, the `sync` answer) and a python3-socketio sync client that records the server's
events in the order they arrive on the wire.

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
import warnings

import engineio
import engineio.payload
import socketio
from socketio import packet as sio_packet

from parley_harness import TIMEOUT, ServerTestCase

# Distinct numbers the development sender accepts (the harness PHONE, +14155550123, is not
# among them).
PHONES = [f"+141555501{n:02d}" for n in range(1, 40)]
# The v2 objects (API.md, "Conventions" and "The conversation log").
MESSAGE_FIELDS = {"id", "conversation_id", "sender_id", "body", "sent_at", "client_id", "seq",
                  "updated_seq", "edited_at", "deleted", "reply_to", "reactions", "attachments"}
QUOTE_FIELDS = {"id", "sender_id", "body", "deleted"}  # a message's reply_to
CONVERSATION_FIELDS = {"id", "kind", "title", "members", "last_message", "unread_count", "seq"}
USER_FIELDS = {"id", "name", "phone"}
MEMBER_FIELDS = USER_FIELDS | {"admin", "read_up_to", "delivered_up_to"}
SYNC_FIELDS = {"ok", "conversations", "messages", "left", "has_more"}


def _daemon_task(self, target, *args, **kwargs):
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


# As in test_realtime_python: python-engineio 4.3.4 runs its loops and handlers on non-daemon
# threads; one still blocked after the tests would keep the interpreter from exiting.
engineio.Client.start_background_task = _daemon_task

# python-engineio 4.3.4 refuses (and drops the connection on) a polling response with more
# than 16 packets, a limit of its own that the official clients do not have: a server may
# well answer a held GET with a few acks, messages and receipts together.
engineio.payload.Payload.max_decode_packets = 100_000


def now_ms():
    return int(time.time() * 1000)


def wait_for_clock_past(ms):
    """Returns once the wall clock (the server's too: same machine) reads more than ``ms``.

    Not a synchronisation with the server: it makes "later" strictly later in milliseconds,
    so that orderings by time (recent activity) have no ties. At most a millisecond or two."""
    while now_ms() <= ms:
        pass


def new_client_id():
    return uuid.uuid4().hex


class User:
    def __init__(self, token, user):
        self.token = token
        self.user = user  # {"id", "name", "phone"}
        self.id = user["id"]
        self.name = user["name"]
        self.phone = user["phone"]

    def __repr__(self):
        return f"<User {self.id} {self.name}>"


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


def message_payload(body, conversation_id=None, to=None, client_id=None):
    payload = {"body": body, "client_id": client_id or new_client_id()}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    if to is not None:
        payload["to"] = to
    return payload


class ChatCase(ServerTestCase):
    """A fresh server per test, users signed in with the development sender, REST helpers
    and Socket.IO clients that are disconnected at the end of the test."""

    transports = ("websocket",)

    def setUp(self):
        # python-engineio 4.3.4 leaves its own sockets to the garbage collector.
        warnings.simplefilter("ignore", ResourceWarning)
        self.phones = iter(PHONES)
        super().setUp()

    # -- users and sockets ------------------------------------------------------------

    def user(self, name, phone=None, server=None):
        server = server or self.server
        signed_in = server.sign_in(phone or next(self.phones), name)
        return User(signed_in["token"], signed_in["user"])

    @staticmethod
    def user_from(verified):
        """A User from a verify response's JSON."""
        return User(verified["token"], verified["user"])

    def users(self, *names):
        return [self.user(name) for name in names]

    def chat(self, user, transports=None, connect=True, server=None):
        chat = Chat(server or self.server, user.token, transports or self.transports)
        self.addCleanup(chat.disconnect)
        if connect:
            chat.connect()
        return chat

    # -- REST ---------------------------------------------------------------------------

    def api(self, method, path, body=None, user=None, token=None, **options):
        if user is not None:
            token = user.token
        return self.server.request(method, "/api/v1" + path, body=body, token=token, **options)

    def add_contact(self, owner, other, name=None):
        body = {"phone": other.phone}
        if name is not None:
            body["name"] = name
        response = self.api("POST", "/contacts", body, owner)
        self.assertEqual(response.status, 201, response)
        return response.json()["contact"]

    def contacts(self, owner):
        response = self.api("GET", "/contacts", user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()["contacts"]

    def open_conversation(self, owner, *members, title=None, status=None):
        body = {"members": [member.id for member in members]}
        if title is not None:
            body["title"] = title
        response = self.api("POST", "/conversations", body, owner)
        if status is not None:
            self.assertEqual(response.status, status, response)
        else:
            self.assertIn(response.status, (200, 201), response)
        return response.json()["conversation"]

    def conversations(self, owner):
        response = self.api("GET", "/conversations", user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()["conversations"]

    def history_page(self, owner, conversation_id, before=None, limit=None):
        query = []
        if before is not None:
            query.append(f"before={before}")
        if limit is not None:
            query.append(f"limit={limit}")
        path = f"/conversations/{conversation_id}/messages" + ("?" + "&".join(query) if query else "")
        response = self.api("GET", path, user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()

    def full_history(self, owner, conversation_id, limit=100):
        """Every message, by paging backwards with before/limit; checks each page's order."""
        pages = []
        before = None
        while True:
            page = self.history_page(owner, conversation_id, before, limit)
            self.assertEqual(set(page), {"messages", "has_more"}, page)
            messages = page["messages"]
            self.assertLessEqual(len(messages), limit)
            ids = [message["id"] for message in messages]
            self.assertEqual(ids, sorted(set(ids)), "ascending within a page")
            if pages and messages:
                self.assertLess(ids[-1], pages[-1][0]["id"], "each page older than the last")
            if page["has_more"]:
                self.assertTrue(messages, "has_more with an empty page")
            if messages:
                pages.append(messages)
            if not page["has_more"]:
                break
            before = ids[0]
            self.assertLess(len(pages), 10_000)
        return [message for page in reversed(pages) for message in page]

    # -- assertions ---------------------------------------------------------------------

    def assertMessage(self, message, sender=None, conversation_id=None, body=None, client_id=None,
                      seq=None, plain=False):
        """A v2 message object. ``plain``: as sent and never changed since (no reply,
        attachment, edit, delete or reaction)."""
        self.assertIsInstance(message, dict, message)
        self.assertEqual(set(message), MESSAGE_FIELDS, message)
        for field in ("id", "conversation_id", "sender_id", "sent_at", "seq", "updated_seq"):
            self.assertIs(type(message[field]), int, (field, message))
            self.assertGreater(message[field], 0, (field, message))
        self.assertGreaterEqual(message["updated_seq"], message["seq"], message)
        self.assertIsInstance(message["body"], str, message)
        self.assertIsInstance(message["client_id"], str, message)
        self.assertIs(type(message["deleted"]), bool, message)
        if message["edited_at"] is not None:
            self.assertIs(type(message["edited_at"]), int, message)
            self.assertGreaterEqual(message["edited_at"], message["sent_at"], message)
        if message["reply_to"] is not None:
            self.assertIsInstance(message["reply_to"], dict, message)
            self.assertEqual(set(message["reply_to"]), QUOTE_FIELDS, message)
        self.assertIsInstance(message["reactions"], list, message)
        for reaction in message["reactions"]:
            self.assertIsInstance(reaction, dict, message)
            self.assertEqual(set(reaction), {"emoji", "user_ids"}, message)
        self.assertIsInstance(message["attachments"], list, message)
        if message["deleted"]:
            self.assertEqual((message["body"], message["reactions"], message["attachments"]),
                             ("", [], []), message)
        if plain:
            self.assertEqual(message["updated_seq"], message["seq"], message)
            self.assertEqual((message["edited_at"], message["deleted"], message["reply_to"],
                              message["reactions"], message["attachments"]),
                             (None, False, None, [], []), message)
        if sender is not None:
            self.assertEqual(message["sender_id"], sender.id, message)
        if conversation_id is not None:
            self.assertEqual(message["conversation_id"], conversation_id, message)
        if body is not None:
            self.assertEqual(message["body"], body, message)
        if client_id is not None:
            self.assertEqual(message["client_id"], client_id, message)
        if seq is not None:
            self.assertEqual(message["seq"], seq, message)
        return message

    def assertSent(self, ack, **expected):
        """An ack {"ok": true, "message"}; returns the message (by default a plain one: see
        assertMessage)."""
        self.assertIsInstance(ack, dict, ack)
        self.assertEqual(set(ack), {"ok", "message"}, ack)
        self.assertIs(ack["ok"], True, ack)
        expected.setdefault("plain", True)
        return self.assertMessage(ack["message"], **expected)

    def assertConversationObject(self, conversation):
        """A v2 conversation object's shape: members with their admin flag and marks, the
        conversation's latest seq. Returns it."""
        self.assertIsInstance(conversation, dict, conversation)
        self.assertEqual(set(conversation), CONVERSATION_FIELDS, conversation)
        self.assertIs(type(conversation["id"]), int, conversation)
        self.assertGreater(conversation["id"], 0, conversation)
        self.assertIn(conversation["kind"], ("direct", "group"), conversation)
        self.assertIsInstance(conversation["title"], str, conversation)
        self.assertIs(type(conversation["seq"]), int, conversation)
        self.assertGreaterEqual(conversation["seq"], 0, conversation)
        self.assertIs(type(conversation["unread_count"]), int, conversation)
        self.assertGreaterEqual(conversation["unread_count"], 0, conversation)
        members = conversation["members"]
        self.assertIsInstance(members, list, conversation)
        self.assertEqual(len({member["id"] for member in members}), len(members), conversation)
        for member in members:
            self.assertEqual(set(member), MEMBER_FIELDS, conversation)
            self.assertIs(type(member["admin"]), bool, conversation)
            for mark in ("read_up_to", "delivered_up_to"):
                self.assertIs(type(member[mark]), int, (mark, conversation))
                self.assertGreaterEqual(member[mark], 0, (mark, conversation))
            self.assertGreaterEqual(member["delivered_up_to"], member["read_up_to"],
                                    "reading implies delivery")
        if conversation["kind"] == "direct":
            self.assertEqual(len(members), 2, conversation)
            self.assertFalse(any(member["admin"] for member in members), "no admins in a direct one")
        else:
            self.assertTrue(any(member["admin"] for member in members), "a group has an admin")
        last = conversation["last_message"]
        if last is not None:
            self.assertMessage(last, conversation_id=conversation["id"])
            self.assertLessEqual(last["updated_seq"], conversation["seq"], conversation)
        return conversation

    @staticmethod
    def member(conversation, user):
        """The entry of ``user`` in a conversation object's members."""
        return next(member for member in conversation["members"] if member["id"] == user.id)

    def assertConversationAsListed(self, synced, listed):
        """``synced`` (from a sync answer) is ``listed`` (GET /conversations, asked for after
        it), except that a member's delivered mark may have moved on in between (deliveries
        are acknowledged by the clients' sockets, asynchronously); a read mark only moves on
        message:read, and the rest is the same object."""
        self.assertConversationObject(synced)
        self.assertConversationObject(listed)
        without_marks = [{key: value for key, value in member.items() if key != "delivered_up_to"}
                         for member in synced["members"]]
        self.assertEqual({**synced, "members": without_marks},
                         {**listed, "members": [{key: value for key, value in member.items()
                                                 if key != "delivered_up_to"}
                                                for member in listed["members"]]})
        for before, after in zip(synced["members"], listed["members"]):
            self.assertLessEqual(before["delivered_up_to"], after["delivered_up_to"], (synced, listed))

    # -- sync ---------------------------------------------------------------------------

    def sync(self, chat, cursors, limit=None):
        """One `sync` call with ``cursors`` ({conversation_id: seq}, or a list of pairs);
        checks the answer's shape and what the contract says of each page; returns it."""
        pairs = list(cursors.items() if isinstance(cursors, dict) else cursors)
        payload = {"cursors": [{"conversation_id": conversation, "seq": seq}
                               for conversation, seq in pairs]}
        if limit is not None:
            payload["limit"] = limit
        answer = chat.ack("sync", payload)
        self.assertIsInstance(answer, dict, answer)
        self.assertEqual(set(answer), SYNC_FIELDS, answer)
        self.assertIs(answer["ok"], True, answer)
        self.assertIs(type(answer["has_more"]), bool, answer)
        for field in ("conversations", "messages", "left"):
            self.assertIsInstance(answer[field], list, answer)
        cursor_of = dict(pairs)  # the last cursor named for a conversation counts
        objects = {}
        for conversation in answer["conversations"]:
            self.assertConversationObject(conversation)
            self.assertNotIn(conversation["id"], objects, "each conversation once")
            objects[conversation["id"]] = conversation
            if conversation["id"] in cursor_of:
                self.assertGreater(conversation["seq"], cursor_of[conversation["id"]],
                                   "an object only for a conversation that changed after its cursor")
        order = []
        for message in answer["messages"]:
            self.assertMessage(message)
            conversation = message["conversation_id"]
            self.assertIn(conversation, cursor_of,
                          "a conversation without a cursor contributes its object only")
            self.assertGreater(message["updated_seq"], cursor_of[conversation], message)
            if conversation in objects:
                self.assertLessEqual(message["updated_seq"], objects[conversation]["seq"], message)
            order.append((conversation, message["updated_seq"]))
        self.assertEqual(order, sorted(set(order)), "ordered by (conversation_id, updated_seq)")
        if limit is not None:
            self.assertLessEqual(len(answer["messages"]), limit)
        for conversation in answer["left"]:
            self.assertIn(conversation, cursor_of, "left: ids from the cursors")
            self.assertNotIn(conversation, objects)
        self.assertEqual(len(answer["left"]), len(set(answer["left"])), answer["left"])
        if not answer["has_more"]:
            for conversation, _ in order:
                self.assertIn(conversation, objects,
                              "the page with a conversation's last change carries its object")
        return answer

    def sync_to_present(self, chat, cursors, limit=None):
        """Pages through `sync` as the contract says a client does: with has_more it advances
        its cursors from the messages received and asks again. Returns (every message
        received, the last object received per conversation id, the ids left, the cursors
        to keep: the seq of each conversation object of the last answer)."""
        cursors = dict(cursors)
        messages, objects, left = [], {}, []
        for _ in range(10_000):
            page = self.sync(chat, cursors, limit)
            messages += page["messages"]
            objects.update((conversation["id"], conversation) for conversation in page["conversations"])
            left += [conversation for conversation in page["left"] if conversation not in left]
            if not page["has_more"]:
                cursors.update((conversation["id"], conversation["seq"])
                               for conversation in page["conversations"])
                return messages, objects, left, cursors
            self.assertTrue(page["messages"], "has_more with no message: no progress")
            for message in page["messages"]:
                cursors[message["conversation_id"]] = message["updated_seq"]
        self.fail("sync never ends")

    def assertAckError(self, ack, code=None):
        """An ack {"ok": false, "error": {"code", "message"}}; returns the error."""
        self.assertIsInstance(ack, dict, ack)
        self.assertEqual(set(ack), {"ok", "error"}, ack)
        self.assertIs(ack["ok"], False, ack)
        error = ack["error"]
        self.assertIsInstance(error, dict, ack)
        self.assertRegex(error.get("code", ""), r"^[a-z]+(_[a-z]+)*$", ack)
        if code is not None:
            self.assertEqual(error["code"], code, ack)
        self.assertIsInstance(error.get("message"), str, ack)
        self.assertTrue(error["message"], ack)
        return error
