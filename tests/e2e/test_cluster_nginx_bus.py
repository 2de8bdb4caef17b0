"""Two nodes with the Redis bus between them, behind nginx rendered from deploy/nginx/parley.conf,
every client connecting through nginx: the deployment of docs/deploy.md, end to end.

Each test starts its own cluster: nodes n1 and n2 (``--node-id``, ``--bus`` on the `services`
fixture's Redis, ``--trust-proxy``, a high ``--max-connections-per-address``, no message rate
limit, one fresh schema of the fixture's PostgreSQL) and nginx (nginx_support) in front. Users
sign in, call REST and connect through nginx only; the nodes are reached directly only to be
killed, drained and read from their logs. What the tests prove:

- two users whose sessions are on different nodes (the node id in front of each Engine.IO sid
  says which; see ``connect_apart``) chat 1:1 and in a group: messages, edits, reactions,
  delivered and read receipts, typing, a group's creation and rename all cross from one node to
  the other, each socket seeing each conversation's changes in seq order, once. Once with one
  client on long-polling only and the other on WebSocket, once with both on polling and then
  the upgrade;
- SIGKILL of the node holding one user's session while the other user keeps sending (in a
  direct conversation and a group): the client is cut off, connects again through nginx and
  lands on the surviving node, and `sync` with the cursors it had gives it every message
  acknowledged meanwhile; with what came live before and after, it has every acknowledged
  message, and the history holds each exactly once. Once for a polling client, once for a
  WebSocket one;
- SIGTERM of a node while both users are sending: its WebSocket client is closed, connects
  again through nginx to the other node, `sync` brings it to the present, the messages it sent
  without an answer are sent again with their client ids and stored once, every acknowledged
  message is stored once and reaches the other user, and the process exits 0.

Two bugs of python-engineio 4.3.4 (Debian's) would hide a client's disconnection for up to
50 s or for good; ``StickyEnd`` and ``wait_cut_off`` say which and how they are met.
Nothing sleeps: every wait blocks on a log line, an ack, a client event or a process, with the
harness TIMEOUT, which only bounds failures.
"""

import queue
import re
import signal
import threading
import unittest

from chat_client import WindowedStream, message_payload
from chat_support import ChatCase, User
from nginx_support import Nginx
from parley_harness import TIMEOUT, drop_postgres_schema, new_postgres_schema
from services import shared

NODES = ("n1", "n2")
BUS_READY = r"\bbus\.ready node="
WEBSOCKET, POLLING, UPGRADING = ("websocket",), ("polling",), ("polling", "websocket")


def node_of(chat):
    """The node that holds ``chat``'s Engine.IO session: the sid's prefix."""
    return chat.sio.eio.sid.split(".", 1)[0]


class StickyEnd(queue.Queue):
    """The outgoing queue of our clients' Engine.IO sessions (python-engineio 4.3.4's
    create_queue), for a bug of that version: when a connection ends, its read loop queues a
    None that tells the write loop to end, and waits for it. The write loop takes what is
    queued in batches; a None that comes behind other packets only ends the batch, and the
    loop then waits for the next packet for pingInterval + pingTimeout + 5 s (50 s here)
    before it ends and the `disconnect` event comes. A busy client closed by a draining node
    hits this. Here a None taken within a batch is queued again, so it ends the loop next."""

    Empty = queue.Empty  # the write loop expects it here

    def get(self, block=True, timeout=None):
        item = super().get(block, timeout)
        if item is None and not block:
            self.put(None)
        return item


class Recorder(WindowedStream):
    """A stream of message:send calls (chat_client.WindowedStream) that keeps every payload it
    emitted and every message acknowledged (``acked``), or every other answer (``refused``)."""

    def __init__(self, chat, name, conversations):
        calls = (("message:send", message_payload(
            f"{name} {index}", conversation_id=conversations[index % len(conversations)]))
            for index in range(1_000_000))
        super().__init__(chat, calls, 4, lambda: None, name=name)
        self.emitted, self.acked, self.refused = [], [], []

    def sent(self, index, payload):
        with self.condition:
            self.emitted.append(payload)

    def answered(self, index, payload, ack):
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.acked.append(ack["message"])
        else:
            self.refused.append(ack)

    def snapshot(self):
        with self.condition:
            return list(self.acked)


class NginxBusCase(ChatCase):
    flags = None  # setUp starts the nodes

    def setUp(self):
        super().setUp()
        database, schema = new_postgres_schema()
        self.addCleanup(drop_postgres_schema, schema)
        self.condition = threading.Condition()  # both nodes' logs: codes from either
        self.nodes = {}
        for name in NODES:
            self.nodes[name] = self.start_server(
                "--node-id", name, "--bus", shared()[1], "--trust-proxy",
                "--max-connections-per-address", "100000", "--message-rate", "0",
                "--log-level", "debug",
                database=database, condition=self.condition)
        for node in self.nodes.values():
            node.wait_for_log(BUS_READY)
        self.nginx = Nginx(self.nodes)
        self.addCleanup(self.nginx.close)  # before the nodes (cleanups run last in, first out)
        self.server = self.nginx  # ChatCase's REST helpers: through nginx

    # -- users and clients, through nginx ------------------------------------------------

    def user(self, name, phone=None, server=None):
        """Signs in through nginx; the code is in the log of whichever node sent it."""
        phone = phone or next(self.phones)
        answer = self.nginx.post("/api/v1/auth/code", {"phone": phone})
        self.assertEqual(answer.status, 202, answer)
        with self.condition:
            found = self.condition.wait_for(
                lambda: any(node.codes[phone] for node in self.nodes.values()), TIMEOUT)
            self.assertTrue(found, f"no code for {phone} in either node's log")
            code = next(node.codes[phone].popleft() for node in self.nodes.values()
                        if node.codes[phone])
        answer = self.nginx.post("/api/v1/auth/verify", {"phone": phone, "code": code,
                                                          "name": name})
        self.assertEqual(answer.status, 200, answer)
        return User(answer.json()["token"], answer.json()["user"])

    def connect(self, user, transports):
        chat = self.chat(user, transports, connect=False, server=self.nginx)
        chat.sio.eio.create_queue = StickyEnd
        chat.connect()
        self.assertRegex(chat.sio.eio.sid, r"^n[12]\.[A-Za-z0-9_-]{20}$")
        if "websocket" in transports:
            self.assertEqual(chat.sio.transport(), "websocket")  # the upgrade went through
        return chat

    def connect_apart(self, first, first_transports, second, second_transports):
        """Connects ``first`` and then ``second`` through nginx, on different nodes.

        The pool is least_conn: a handshake goes to the node with fewer open connections from
        nginx. ``first`` must hold a WebSocket (nginx keeps that connection open to its node
        for the session's life; a polling client has a connection open only while a GET is
        held), so with nothing else in flight its node has one connection more than the other
        and ``second``'s handshake goes to the other: deterministic, and asserted."""
        self.assertIn("websocket", first_transports)
        a = self.connect(first, first_transports)
        b = self.connect(second, second_transports)
        self.assertNotEqual(node_of(a), node_of(b), (a.sio.eio.sid, b.sio.eio.sid))
        return a, b

    def wait_cut_off(self, chat):
        """Waits until ``chat``'s connection has ended (its Engine.IO read loop returned).

        python-engineio 4.3.4 says nothing when a polling POST fails before its GET (the
        client's write loop resets the state on a non-2xx answer, here nginx's 502 once the
        node is gone, and the read loop, ending next, sends no `disconnect` event because
        the state is no longer "connected"): wait for the read loop, then run the Chat's own
        disconnect handling if the library did not."""
        chat.sio.eio.read_loop_task.join(TIMEOUT)
        self.assertFalse(chat.sio.eio.read_loop_task.is_alive(), "the client is still connected")
        self.assertNotEqual(chat.sio.eio.state, "connected")
        if not chat.disconnected.is_set():
            chat._on_disconnect()

    # -- streams and what a client has ----------------------------------------------------

    def stream(self, chat, name, conversations):
        stream = Recorder(chat, name, conversations)
        self.addCleanup(stream.stop)
        stream.start()
        return stream

    def wait_acks(self, stream, count):
        with stream.condition:
            done = stream.condition.wait_for(
                lambda: len(stream.acked) >= count or stream.refused, TIMEOUT)
        self.assertEqual(stream.refused, [], f"{stream.name}: a send refused")
        self.assertTrue(done, f"{stream.name}: {len(stream.acked)} of {count} acks")

    def finish(self, stream, connected=True):
        """Stops ``stream``; on a connection still up, waits for the acks of its last calls."""
        stream.stop()
        stream.join(TIMEOUT)
        self.assertFalse(stream.is_alive())
        if stream.failure is not None:
            raise stream.failure
        if connected:
            with stream.condition:
                self.assertTrue(stream.condition.wait_for(lambda: stream.in_flight == 0,
                                                          TIMEOUT), "acks missing")
        self.assertEqual(stream.refused, [], f"{stream.name}: a send refused")
        return stream.snapshot()

    @staticmethod
    def cursors(chat, start):
        """``start`` ({conversation id: seq}) moved on by every message ``chat`` received."""
        cursors = dict(start)
        for message in chat.payloads("message") + chat.payloads("message:updated"):
            conversation = message["conversation_id"]
            cursors[conversation] = max(cursors.get(conversation, 0), message["updated_seq"])
        return cursors

    def wait_received(self, chats, wanted, also=()):
        """Waits until ``chats`` together have received (as `message`), or ``also`` holds, every
        message of ``wanted``. The last of ``chats`` is the live one: the others have ended."""
        ids = {message["id"] for message in wanted}
        extra = {message["id"] for message in also}

        def have():
            return extra.union(*({m["id"] for m in chat.payloads("message")} for chat in chats))

        with chats[-1].condition:
            chats[-1].condition.wait_for(lambda: ids <= have(), TIMEOUT)
        self.assertEqual(sorted(ids - have()), [], "acknowledged messages never received")

    def assertInOrderOnce(self, chat):
        """Every conversation's changes reached ``chat`` in seq order, none twice."""
        by_conversation = {}
        with chat.condition:
            for event, args, _ in chat.events:
                if event in ("message", "message:updated"):
                    by_conversation.setdefault(args[0]["conversation_id"], []).append(
                        args[0]["updated_seq"])
        for conversation, seqs in by_conversation.items():
            self.assertEqual(seqs, sorted(set(seqs)), (conversation, seqs))

    def assertStoredOnce(self, owner, conversations, acked, client_ids=()):
        """The history of ``conversations`` (read through nginx) holds every message of
        ``acked`` exactly once, as acknowledged, and each of ``client_ids`` exactly once."""
        history = [message for conversation in conversations
                   for message in self.full_history(owner, conversation)]
        ids = [message["id"] for message in history]
        self.assertEqual(len(ids), len(set(ids)), "a message listed twice")
        keys = [(message["sender_id"], message["client_id"]) for message in history]
        self.assertEqual(len(keys), len(set(keys)), "a client id stored twice")
        stored = {message["id"]: message for message in history}
        for message in acked:
            self.assertIn(message["id"], stored, f"acknowledged, not stored: {message}")
            self.assertEqual(stored[message["id"]]["body"], message["body"])
        stored_ids = {message["client_id"] for message in history}
        for client_id in client_ids:
            self.assertIn(client_id, stored_ids)
        return history


class CrossNodeChatThroughNginxTest(NginxBusCase):
    def converse(self, a_transports, b_transports):
        alice, bob, carol = self.user("Alice"), self.user("Bob"), self.user("Carol")
        a, b = self.connect_apart(alice, a_transports, bob, b_transports)

        def receipt(chat, conversation, user, kind, up_to):
            return chat.wait_for("receipt", lambda r: r == {
                "conversation_id": conversation, "user_id": user.id, "kind": kind,
                "up_to": up_to})

        # 1:1: a message each way, its delivered and read receipts.
        message = self.assertSent(a.send("hello from Alice", to=bob.id))
        direct = message["conversation_id"]
        self.assertEqual(b.next_payload("message"), message)
        receipt(a, direct, bob, "delivered", message["id"])  # Bob's client acked it
        self.assertEqual(b.ack("message:read", {"conversation_id": direct,
                                                "up_to": message["id"]}), {"ok": True})
        receipt(a, direct, bob, "read", message["id"])
        reply = self.assertSent(b.send("hello from Bob", conversation_id=direct))
        self.assertEqual(a.next_payload("message"), reply)
        receipt(b, direct, alice, "delivered", reply["id"])
        self.assertEqual(a.ack("message:read", {"conversation_id": direct,
                                                "up_to": reply["id"]}), {"ok": True})
        receipt(b, direct, alice, "read", reply["id"])
        # Typing both ways, an edit and a reaction each way.
        for chat, to, user in ((b, a, bob), (a, b, alice)):
            chat.emit("typing", {"conversation_id": direct, "typing": True})
            self.assertEqual(to.next_payload("typing"),
                             {"conversation_id": direct, "user_id": user.id, "typing": True})
        edited = a.ack("message:edit", {"message_id": message["id"], "body": "hello, Bob"})
        self.assertIs(edited["ok"], True, edited)
        self.assertEqual(b.next_payload("message:updated"), edited["message"])
        reacted = b.ack("reaction:set", {"message_id": message["id"], "emoji": "👍"})
        self.assertIs(reacted["ok"], True, reacted)
        self.assertEqual(reacted["message"]["body"], "hello, Bob")
        self.assertEqual(a.next_payload("message:updated"), reacted["message"])
        edited = b.ack("message:edit", {"message_id": reply["id"], "body": "hello again"})
        self.assertEqual(a.next_payload("message:updated"), edited["message"])
        reacted = a.ack("reaction:set", {"message_id": reply["id"], "emoji": "🎉"})
        self.assertEqual(b.next_payload("message:updated"), reacted["message"])

        # A group (Carol is a member, not connected): creation, messages, receipts, typing,
        # a reaction and a rename.
        group = self.open_conversation(alice, bob, carol, title="Trip")["id"]
        for chat in (a, b):
            chat.wait_for("conversation", lambda view: (view["id"], view["title"])
                          == (group, "Trip"))
        sent = self.assertSent(a.send("to the group", conversation_id=group))
        self.assertEqual(b.next_payload("message"), sent)
        receipt(a, group, bob, "delivered", sent["id"])
        self.assertEqual(b.ack("message:read", {"conversation_id": group,
                                                "up_to": sent["id"]}), {"ok": True})
        receipt(a, group, bob, "read", sent["id"])
        answer = self.assertSent(b.send("the group hears Bob", conversation_id=group))
        self.assertEqual(a.next_payload("message"), answer)
        receipt(b, group, alice, "delivered", answer["id"])
        b.emit("typing", {"conversation_id": group, "typing": False})
        self.assertEqual(a.next_payload("typing"),
                         {"conversation_id": group, "user_id": bob.id, "typing": False})
        reacted = a.ack("reaction:set", {"message_id": answer["id"], "emoji": "❤️"})
        self.assertEqual(b.next_payload("message:updated"), reacted["message"])
        renamed = self.api("PATCH", f"/conversations/{group}", {"title": "Trip 2"}, user=alice)
        self.assertEqual(renamed.status, 200, renamed)
        for chat in (a, b):
            view, _ = chat.wait_for("conversation", lambda v: v["id"] == group)
            self.assertEqual(view["title"], "Trip 2")
            self.assertEqual(view["seq"], renamed.json()["conversation"]["seq"])

        for chat in (a, b):
            self.assertInOrderOnce(chat)
        # Both sessions stayed where they began: nothing above needed them on one node.
        self.assertNotEqual(node_of(a), node_of(b))
        # The log holds it all once, as last changed (read through nginx, on either node).
        history = self.assertStoredOnce(alice, [direct, group], [])
        self.assertEqual([(m["body"], [r["emoji"] for r in m["reactions"]]) for m in history],
                         [("hello, Bob", ["👍"]), ("hello again", ["🎉"]),
                          ("to the group", []), ("the group hears Bob", ["❤️"])])

    def test_polling_only_and_websocket_clients_on_two_nodes(self):
        self.converse(WEBSOCKET, POLLING)

    def test_two_clients_upgrading_from_polling_on_two_nodes(self):
        self.converse(UPGRADING, UPGRADING)


class KilledNodeThroughNginxTest(NginxBusCase):
    """Bob's node is SIGKILLed while Alice, on the other node, sends to him."""

    def kill_while_the_other_sends(self, bob_transports):
        alice, bob, carol = self.user("Alice"), self.user("Bob"), self.user("Carol")
        a, b = self.connect_apart(alice, WEBSOCKET, bob, bob_transports)
        surviving, killed = node_of(a), node_of(b)
        direct = self.assertSent(a.send("before", to=bob.id))["conversation_id"]
        group = self.open_conversation(alice, bob, carol, title="Ops")["id"]
        b.wait_for("conversation", lambda view: view["id"] == group)
        # Where Bob's client stands: what its own sync gave it at the start, then live.
        start = self.sync_to_present(b, {})[3]
        self.assertEqual(set(start), {direct, group})

        stream = self.stream(a, "Alice", [direct, group])
        b.wait_count("message", 20)  # Bob is getting them live, across the bus
        self.nodes[killed].kill()  # SIGKILL, while Alice is sending
        self.wait_cut_off(b)
        # Alice goes on while Bob is away: at least 20 more acknowledged messages.
        self.wait_acks(stream, len(stream.snapshot()) + 20)

        again = self.connect(bob, bob_transports)  # through nginx: the pool skips the dead node
        self.assertEqual(node_of(again), surviving)
        cursors = self.cursors(b, start)
        acked_before_sync = stream.snapshot()
        synced = self.sync_to_present(again, cursors)[0]
        # Every message acknowledged before the sync and after the cursors is in its answer.
        synced_ids = {message["id"] for message in synced}
        missing = [m for m in acked_before_sync
                   if m["seq"] > cursors[m["conversation_id"]] and m["id"] not in synced_ids]
        self.assertEqual(missing, [], "acknowledged while Bob was away, not in his sync")
        self.assertTrue(any(m["seq"] > cursors[m["conversation_id"]]
                            for m in acked_before_sync), "nothing was sent meanwhile")

        acked = self.finish(stream)
        # Before the kill, the sync, and after it live: Bob has every acknowledged message.
        self.wait_received([b, again], acked, also=synced)
        for chat in (b, again):
            self.assertInOrderOnce(chat)
        self.assertStoredOnce(bob, [direct, group], acked)

    def test_a_polling_client_of_a_killed_node_syncs_on_the_other(self):
        self.kill_while_the_other_sends(POLLING)

    def test_a_websocket_client_of_a_killed_node_syncs_on_the_other(self):
        self.kill_while_the_other_sends(WEBSOCKET)


class OppositeLockOrdersTest(NginxBusCase):
    def test_two_nodes_writing_two_conversations_in_opposite_orders_never_deadlock(self):
        """Each node's group commit locks the rows of the conversations its batch writes to.
        Alice (one node) sends to [direct, group] in turn, Bob (the other) to [group, direct]:
        without one lock order on every node, PostgreSQL finds deadlocks and refuses sends."""
        alice, bob, carol = self.user("Alice"), self.user("Bob"), self.user("Carol")
        a, b = self.connect_apart(alice, WEBSOCKET, bob, WEBSOCKET)
        direct = self.assertSent(a.send("before", to=bob.id))["conversation_id"]
        group = self.open_conversation(alice, bob, carol, title="Ops")["id"]
        alice_stream = self.stream(a, "Alice", [direct, group])
        bob_stream = self.stream(b, "Bob", [group, direct])
        for stream in (alice_stream, bob_stream):
            self.wait_acks(stream, 300)
        for stream in (alice_stream, bob_stream):
            self.finish(stream)
        for node in self.nodes.values():
            self.assertNotIn("deadlock", "\n".join(node.lines))


class DrainedNodeThroughNginxTest(NginxBusCase):
    def test_sigterm_closes_its_websockets_and_they_resume_on_the_other_node(self):
        alice, bob, carol = self.user("Alice"), self.user("Bob"), self.user("Carol")
        a, b = self.connect_apart(alice, WEBSOCKET, bob, WEBSOCKET)
        staying, drained = node_of(a), node_of(b)
        node = self.nodes[drained]
        direct = self.assertSent(a.send("before", to=bob.id))["conversation_id"]
        group = self.open_conversation(alice, bob, carol, title="Ops")["id"]
        b.wait_for("conversation", lambda view: view["id"] == group)
        start = self.sync_to_present(b, {})[3]

        # Both send, to both conversations in opposite orders, and the node is drained in the
        # middle of it.
        alice_stream = self.stream(a, "Alice", [direct, group])
        bob_stream = self.stream(b, "Bob", [group, direct])
        self.wait_acks(bob_stream, 20)
        b.wait_count("message", 20)
        sid = b.sio.eio.sid
        log_start = node.log_size()
        node.process.send_signal(signal.SIGTERM)
        node.wait_for_log(r"\bhttp\.draining\b", log_start)
        node.wait_for_log(rf"\bengineio\.closed sid={re.escape(sid)} ", log_start)
        self.wait_cut_off(b)
        bob_acked = self.finish(bob_stream, connected=False)
        node.exit_status()
        node.wait_for_log(r"\bserver\.stopped\b", log_start)
        self.wait_acks(alice_stream, len(alice_stream.snapshot()) + 20)  # after the exit

        again = self.connect(bob, WEBSOCKET)
        self.assertEqual(node_of(again), staying)
        cursors = self.cursors(b, start)
        acked_before_sync = alice_stream.snapshot()
        synced = self.sync_to_present(again, cursors)[0]
        synced_ids = {message["id"] for message in synced}
        self.assertEqual([m for m in acked_before_sync if m["seq"] > cursors[m["conversation_id"]]
                          and m["id"] not in synced_ids], [],
                         "acknowledged while Bob was away, not in his sync")
        # What Bob sent without an answer, he sends again with the same client ids (a client
        # does that after a reconnection): each is stored once, whether it was or not.
        acked_ids = {message["client_id"] for message in bob_acked}
        unanswered = [payload for payload in bob_stream.emitted
                      if payload["client_id"] not in acked_ids]
        resent = again.send_many(unanswered) if unanswered else []
        for payload, ack in zip(unanswered, resent):
            self.assertEqual(self.assertSent(ack, plain=False)["client_id"],
                             payload["client_id"])

        alice_acked = self.finish(alice_stream)
        self.wait_received([b, again], alice_acked, also=synced)
        # Alice got every message Bob had an answer for (and those sent again), live.
        self.wait_received([a], bob_acked + [ack["message"] for ack in resent])
        for chat in (a, b, again):
            self.assertInOrderOnce(chat)
        self.assertStoredOnce(alice, [direct, group], alice_acked + bob_acked,
                              [payload["client_id"] for payload in unanswered])
        self.assertEqual(self.nginx.get("/healthz").json(), {"status": "ok", "node": staying})


if __name__ == "__main__":
    unittest.main()
