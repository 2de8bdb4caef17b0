"""The chat over Socket.IO (the contract's "Real time" section, with the choices of
docs/api.md), driven by Debian's python3-socketio sync client: messages in direct
and group conversations, the sender's other tabs, outsiders, idempotent retries, `sync` (the
v2 catch-up by per-conversation cursors) after a disconnection, receipts, ordering under
concurrent senders and the rate limit. The common cases run over WebSocket and over HTTP
long-polling. Typing, presence and bad payloads: test_chat_events.

"Receives nothing" is proven with a marker: after the event that must not reach a socket,
something that must reach it is sent, and the socket's first event of that name has to be
the marker (events are read in wire order, see chat_support.Chat).
"""

import re
import threading
import unittest

from chat_support import (
    TIMEOUT,
    Chat,
    message_payload,
    new_client_id,
    now_ms,
)
from parley_harness import parse_metrics
from realtime_support import TRICKY, Polling, RealtimeCase, WebSocket


class Basics:
    """Run over each transport (see the classes at the end)."""

    def test_direct_message_between_two_users(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        client_id = new_client_id()
        before = now_ms()
        ack = a.send(f"  {TRICKY}  ", to=bob.id, client_id=client_id)
        after = now_ms()
        message = self.assertSent(ack, sender=alice, body=TRICKY, client_id=client_id)
        self.assertNow(message["sent_at"], before, after)
        self.assertEqual(message["seq"], 1, "a direct conversation's first change")
        # The conversation opened by "to" is the direct one.
        self.assertEqual(self.open_conversation(alice, bob, status=200)["id"],
                         message["conversation_id"])
        self.assertEqual(b.next("message"), (message,), "one argument: the message object")
        self.assertIsNotNone(b.ack_ids("message")[0], "'message' asks for an ack")

        reply = self.assertSent(b.send("hi Alice", conversation_id=message["conversation_id"]),
                                sender=bob, conversation_id=message["conversation_id"],
                                body="hi Alice")
        self.assertGreater(reply["id"], message["id"])
        self.assertEqual(reply["seq"], 2)
        self.assertEqual(a.next_payload("message"), reply, "Alice's first message is Bob's")
        again = self.assertSent(a.send("and again", to=bob.id), sender=alice)
        self.assertEqual(again["conversation_id"], message["conversation_id"])
        self.assertEqual(b.next_payload("message"), again)
        self.assertEqual(self.full_history(bob, message["conversation_id"]), [message, reply, again])

    def send_latencies(self):
        """parley_message_send_seconds: {bound: cumulative count}, the count and the sum."""
        response = self.server.get("/metrics")
        self.assertEqual(response.status, 200)
        text = response.body.decode()
        self.assertIn("# TYPE parley_message_send_seconds histogram", text)
        samples = parse_metrics(text)
        buckets = {labels[0][1]: value for (name, labels), value in samples.items()
                   if name == "parley_message_send_seconds_bucket"}
        return (buckets, samples[("parley_message_send_seconds_count", ())],
                samples[("parley_message_send_seconds_sum", ())])

    def test_each_stored_send_is_timed_and_a_refused_one_is_not(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        _, count_before, sum_before = self.send_latencies()
        retry = new_client_id()
        for index in range(3):
            client_id = retry if index == 0 else None
            self.assertSent(a.send(f"timed {index}", to=bob.id, client_id=client_id), sender=alice)
        self.assertEqual(a.send("refused", conversation_id=999999)["error"]["code"], "not_found")
        self.assertIs(a.send("timed 0", to=bob.id, client_id=retry)["ok"], True)  # a retry
        buckets, count, total = self.send_latencies()
        self.assertEqual(count, count_before + 4, "three sends and the retry, not the refusal")
        self.assertGreater(total, sum_before)
        self.assertEqual(buckets["+Inf"], count)
        bounds = sorted((float(bound), value) for bound, value in buckets.items() if bound != "+Inf")
        self.assertEqual(len(bounds), 12)
        self.assertEqual([value for _, value in bounds], sorted(value for _, value in bounds),
                         "cumulative buckets")

    def test_group_of_three(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        # Created after everyone connected: delivery follows membership, not a connect-time room.
        created = self.open_conversation(alice, bob, carol, title="Three", status=201)
        group = created["id"]
        # Creating the group is its first change, sent to every member (the creator too: it
        # was made over REST).
        self.assertEqual(created["seq"], 1)
        for socket in (a, b, c):
            self.assertEqual(socket.next("conversation"), (created,))
        first = self.assertSent(a.send("hello all", conversation_id=group), sender=alice,
                                conversation_id=group, body="hello all", seq=2)
        self.assertEqual(b.next_payload("message"), first)
        self.assertEqual(c.next_payload("message"), first)
        second = self.assertSent(b.send("hi from Bob", conversation_id=group), sender=bob)
        self.assertEqual(a.next_payload("message"), second)
        self.assertEqual(c.next_payload("message"), second)
        third = self.assertSent(c.send("Carol here", conversation_id=group), sender=carol)
        self.assertEqual(a.next_payload("message"), third)
        self.assertEqual(b.next_payload("message"), third)
        self.assertEqual(self.full_history(carol, group), [first, second, third])
        self.assertEqual(self.conversations(bob)[0]["last_message"], third)

    def test_bodies_round_trip_exactly(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        refused = a.send("a\x00b", conversation_id=conversation, client_id=new_client_id())
        self.assertAckError(refused, "bad_request")  # U+0000: no PostgreSQL text can hold it
        bodies = [
            "record \x1e separator",
            "👩‍👩‍👧‍👦 family (one grapheme, seven code points)",
            "e\u0301 combining, \u202eright-to-left override",
            '{"body": "not JSON to be parsed", "id": 1}',
            "</script><script>alert(1)</script>",
            "line one\r\nline two\n\tindented",
            "\U0010ffff last code point",
        ]
        sent = []
        for body in bodies:
            with self.subTest(body=body):
                client_id = new_client_id()
                ack = a.send(body, conversation_id=conversation, client_id=client_id)
                message = self.assertSent(ack, body=body, client_id=client_id)
                sent.append(message)
                self.assertEqual(b.next_payload("message"), message)
        self.assertEqual(self.full_history(alice, conversation), sent)
        self.wait_delivered(a, conversation, bob, sent[-1]["id"])
        self.assertSyncedEverything(b, bob, conversation, sent)

    def test_client_id_is_1_to_100_characters_not_bytes(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        sent = []
        for client_id in ("é" * 100, "😀" * 100, "x", "a b c", "é" * 51):
            with self.subTest(client_id=client_id):
                ack = a.send("client_id " + client_id, conversation_id=conversation,
                             client_id=client_id)
                message = self.assertSent(ack, client_id=client_id)
                sent.append(message)
                self.assertEqual(b.next_payload("message"), message)
                again = a.send("retry", conversation_id=conversation, client_id=client_id)
                self.assertEqual(again, {"ok": True, "message": message}, "idempotent")
        self.assertEqual(self.full_history(alice, conversation), sent)
        self.wait_delivered(a, conversation, bob, sent[-1]["id"])
        self.assertSyncedEverything(b, bob, conversation, sent)

    def test_first_message_with_to_reaches_a_recipient_connected_before(self):
        alice, bob = self.users("Alice", "Bob")
        b = self.chat(bob)
        a = self.chat(alice)
        message = self.assertSent(a.send("out of the blue", to=bob.id), sender=alice)
        self.assertEqual(b.next_payload("message"), message)
        listed = self.conversations(bob)
        self.assertEqual([c["id"] for c in listed], [message["conversation_id"]])
        self.assertEqual(listed[0]["kind"], "direct")
        self.assertEqual(listed[0]["unread_count"], 1)

    def test_second_tab_gets_own_message_and_the_sending_socket_does_not(self):
        alice, bob = self.users("Alice", "Bob")
        a1, a2, b = self.chat(alice), self.chat(alice), self.chat(bob)
        mine = self.assertSent(a1.send("from tab 1", to=bob.id), sender=alice)
        self.assertEqual(a2.next_payload("message"), mine, "the other tab gets it")
        self.assertEqual(b.next_payload("message"), mine)
        marker = self.assertSent(b.send("marker", to=alice.id), sender=bob)
        self.assertEqual(a1.next_payload("message"), marker,
                         "the sending socket does not get its own message back")
        self.assertEqual(a2.next_payload("message"), marker)
        # And the other way round: what tab 2 sends reaches tab 1.
        from_tab2 = self.assertSent(a2.send("from tab 2", to=bob.id), sender=alice)
        self.assertEqual(a1.next_payload("message"), from_tab2)
        self.assertEqual(b.next_payload("message"), from_tab2)
        self.assertEqual(b.payloads("message"), [mine, from_tab2], "Bob never gets his own")

    def test_non_member_receives_nothing(self):
        alice, bob, outsider = self.users("Alice", "Bob", "Olivia")
        a, b, o = self.chat(alice), self.chat(bob), self.chat(outsider)
        group = self.group(alice, bob, self.user("Carol"), title="Private")
        direct = self.direct(alice, bob)
        self.assertNotEqual(group, direct)
        in_group = self.assertSent(a.send("group secret", conversation_id=group))
        in_direct = self.assertSent(b.send("direct secret", conversation_id=direct))
        a.emit("typing", {"conversation_id": group, "typing": True})
        self.assertEqual(b.next_payload("typing"),
                         {"conversation_id": group, "user_id": alice.id, "typing": True})
        read = a.ack("message:read", {"conversation_id": direct, "up_to": in_direct["id"]})
        self.assertEqual(read, {"ok": True})
        b.wait_for("receipt", lambda r: r["kind"] == "read")
        self.assertEqual(b.next_payload("message"), in_group)
        self.assertEqual(a.next_payload("message"), in_direct)

        # Markers the outsider is meant to get, each after the things it must not get.
        marker = self.assertSent(b.send("hello Olivia", to=outsider.id))
        self.assertEqual(o.next_payload("message"), marker, "the outsider's first message")
        b.emit("typing", {"conversation_id": marker["conversation_id"], "typing": True})
        self.assertEqual(o.next_payload("typing"),
                         {"conversation_id": marker["conversation_id"], "user_id": bob.id,
                          "typing": True}, "the outsider's first typing")
        self.assertEqual(o.payloads("message"), [marker])
        for receipt in o.payloads("receipt"):
            self.assertEqual(receipt["conversation_id"], marker["conversation_id"], receipt)

    def test_idempotent_retry(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a1, a2, b = self.chat(alice), self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, carol)
        client_id = new_client_id()
        original = self.assertSent(a1.send("once", to=bob.id, client_id=client_id),
                                   client_id=client_id, body="once")
        for what, socket, payload in (
            ("the same payload", a1, message_payload("once", to=bob.id, client_id=client_id)),
            ("another body", a1, message_payload("twice?", to=bob.id, client_id=client_id)),
            ("another conversation", a1,
             message_payload("elsewhere", conversation_id=group, client_id=client_id)),
            ("from another tab", a2, message_payload("once", to=bob.id, client_id=client_id)),
        ):
            with self.subTest(what):
                self.assertEqual(socket.ack("message:send", payload), {"ok": True, "message": original})
        # The same client_id from someone else is their own message.
        bobs = self.assertSent(b.send("mine", to=alice.id, client_id=client_id), sender=bob,
                               client_id=client_id, body="mine")
        self.assertNotEqual(bobs["id"], original["id"])
        marker = self.assertSent(a1.send("after the retries", to=bob.id))
        self.assertEqual(b.next_payload("message"), original)
        self.assertEqual(b.next_payload("message"), marker, "the retries were not delivered again")
        self.assertEqual(a2.next_payload("message"), original)
        self.assertEqual(a2.next_payload("message"), bobs)
        self.assertEqual(a2.next_payload("message"), marker)
        self.assertEqual(self.full_history(bob, original["conversation_id"]), [original, bobs, marker])
        self.assertEqual(self.full_history(carol, group), [])

    def test_concurrent_retries_store_one_message(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        client_ids = [new_client_id() for _ in range(5)]
        # Every client_id three times, all in flight together.
        payloads = [message_payload(f"retry {n}", conversation_id=conversation, client_id=client_id)
                    for n in range(3) for client_id in client_ids]
        acks = a.send_many(payloads, window=len(payloads))
        by_client_id = {}
        for payload, ack in zip(payloads, acks):
            message = self.assertSent(ack, client_id=payload["client_id"])
            by_client_id.setdefault(payload["client_id"], message)
            self.assertEqual(message, by_client_id[payload["client_id"]], "one message per client_id")
        self.assertEqual(len({m["id"] for m in by_client_id.values()}), len(client_ids))
        history = self.full_history(bob, conversation)
        self.assertEqual(sorted(m["id"] for m in history), sorted(m["id"] for m in by_client_id.values()))
        # The same again from two tabs at once.
        a2 = self.chat(alice)
        twice = [message_payload("from both tabs", conversation_id=conversation) for _ in range(5)]
        answers = {}
        threads = [threading.Thread(target=lambda s=socket: answers.__setitem__(s, s.send_many(twice, 5)),
                                    daemon=True) for socket in (a, a2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        self.assertEqual(len(answers), 2)
        self.assertEqual(answers[a], answers[a2], "both tabs get the same messages")
        for payload, ack in zip(twice, answers[a]):
            by_client_id[payload["client_id"]] = self.assertSent(ack, client_id=payload["client_id"])
        client_ids += [payload["client_id"] for payload in twice]
        history = self.full_history(bob, conversation)
        self.assertEqual(sorted(m["id"] for m in history), sorted(m["id"] for m in by_client_id.values()))
        marker = self.assertSent(a.send("marker", conversation_id=conversation))
        received = [b.next_payload("message") for _ in range(len(client_ids) + 1)]
        self.assertEqual(received[-1], marker, "each message delivered once")
        self.assertEqual(sorted(m["id"] for m in received[:-1]),
                         sorted(m["id"] for m in by_client_id.values()))

    def test_sync_after_a_disconnection(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, c = self.chat(alice), self.chat(carol)
        b1, b2 = self.chat(bob), self.chat(bob)
        group = self.group(alice, bob, carol)
        seen = self.assertSent(a.send("seen", to=bob.id))
        direct = seen["conversation_id"]
        # What Bob's first socket has applied: the group's creation and the first message.
        created = b1.next_payload("conversation")
        self.assertEqual((created["id"], created["seq"]), (group, 1))
        self.assertEqual(b1.next_payload("message"), seen)
        cursors = {group: created["seq"], direct: seen["updated_seq"]}
        b1.disconnect()

        missed = [
            self.assertSent(a.send("missed 1", to=bob.id)),
            self.assertSent(a.send("missed 2", to=bob.id)),
            self.assertSent(c.send("missed 3", conversation_id=group)),
        ]
        not_bobs = self.assertSent(a.send("not Bob's", to=carol.id))
        missed.append(self.assertSent(b2.send("Bob's own, other tab", conversation_id=group)))
        for conversation in (group, direct):
            in_order = [m for m in missed if m["conversation_id"] == conversation]
            self.assertEqual([m["seq"] for m in in_order],
                             list(range(cursors[conversation] + 1, cursors[conversation] + 3)),
                             "each conversation's log goes on from Bob's cursor, without gaps")
            self.assertEqual([m["id"] for m in in_order], sorted(m["id"] for m in in_order))
        # Messages come ordered by (conversation_id, updated_seq).
        missed.sort(key=lambda m: (m["conversation_id"], m["updated_seq"]))
        last_seq = {conversation: max(m["updated_seq"] for m in missed
                                      if m["conversation_id"] == conversation)
                    for conversation in (group, direct)}

        b3 = self.chat(bob)
        # Exactly what was missed, and both conversations' objects. Alice and Carol's
        # conversation, named too, is not Bob's: "left", and nothing of it.
        answer = self.sync(b3, {**cursors, not_bobs["conversation_id"]: 0})
        self.assertEqual((answer["messages"], answer["left"], answer["has_more"]),
                         (missed, [not_bobs["conversation_id"]], False))
        synced = {conversation["id"]: conversation for conversation in answer["conversations"]}
        self.assertEqual({id: conversation["seq"] for id, conversation in synced.items()}, last_seq)
        listed = {conversation["id"]: conversation for conversation in self.conversations(bob)}
        for conversation in (group, direct):
            self.assertConversationAsListed(synced[conversation], listed[conversation])
        self.assertEqual(synced[group]["last_message"],
                         [m for m in missed if m["conversation_id"] == group][-1])

        # Paging with a small limit: the client advances its cursors from the messages it got;
        # a conversation's object comes with the page that holds its last change.
        def objects_expected(page):
            return sorted(conversation for conversation in (group, direct)
                          if any((m["conversation_id"], m["updated_seq"]) ==
                                 (conversation, last_seq[conversation]) for m in page["messages"]))

        first = self.sync(b3, cursors, limit=2)
        self.assertEqual((first["messages"], first["left"], first["has_more"]), (missed[:2], [], True))
        self.assertEqual(sorted(c["id"] for c in first["conversations"]), objects_expected(first))
        advanced = {**cursors, **{m["conversation_id"]: m["updated_seq"] for m in first["messages"]}}
        second = self.sync(b3, advanced, limit=2)
        self.assertEqual((second["messages"], second["left"], second["has_more"]), (missed[2:], [], False))
        self.assertEqual(sorted(c["id"] for c in second["conversations"]), objects_expected(second))
        # One message at a time, to the end.
        got, objects, left, kept = self.sync_to_present(b3, cursors, limit=1)
        self.assertEqual((got, left), (missed, []))
        self.assertEqual({id: conversation["seq"] for id, conversation in objects.items()}, last_seq)
        self.assertEqual(kept, last_seq)
        # From the beginning of both conversations: everything in them.
        everything = sorted([seen] + missed, key=lambda m: (m["conversation_id"], m["updated_seq"]))
        answer = self.sync(b3, {group: 0, direct: 0})
        self.assertEqual((answer["messages"], answer["has_more"]), (everything, False))
        self.assertEqual(sorted(c["id"] for c in answer["conversations"]), [group, direct])
        # A client with no cursors (a new one) gets the conversation objects only.
        answer = self.sync(b3, {})
        self.assertEqual((answer["messages"], answer["left"], answer["has_more"]), ([], [], False))
        self.assertEqual(sorted(c["id"] for c in answer["conversations"]), [group, direct])
        # Nothing after the cursors to keep.
        self.assertEqual(self.sync(b3, kept), {"ok": True, "conversations": [], "messages": [],
                                               "left": [], "has_more": False})
        # The socket is live for new messages.
        live = self.assertSent(a.send("live", to=bob.id), seq=last_seq[direct] + 1)
        self.assertEqual(b3.next_payload("message"), live)

    def test_receipts(self):
        alice, bob = self.users("Alice", "Bob")
        a1, a2 = self.chat(alice), self.chat(alice)
        b1, b2 = self.chat(bob), self.chat(bob)
        message = self.assertSent(a1.send("did you get this?", to=bob.id))
        conversation = message["conversation_id"]
        # Bob's sockets ack 'message' (python-socketio answers every ack request): delivered.
        self.assertEqual(b1.next_payload("message"), message)
        delivered = {"conversation_id": conversation, "user_id": bob.id, "kind": "delivered",
                     "up_to": message["id"]}
        for socket in (a1, a2):
            receipt, skipped = socket.wait_for("receipt", lambda r: r["kind"] == "delivered")
            self.assertEqual(receipt, delivered)
            self.assertEqual(skipped, [])

        self.assertEqual(b1.ack("message:read", {"conversation_id": conversation,
                                                 "up_to": message["id"]}), {"ok": True})
        read = {"conversation_id": conversation, "user_id": bob.id, "kind": "read",
                "up_to": message["id"]}
        for socket in (a1, a2, b2):
            receipt, skipped = socket.wait_for("receipt", lambda r: r["kind"] == "read")
            self.assertEqual(receipt, read)
            for other in skipped:
                self.assertEqual(other, delivered)
        # The reading socket gets no receipt of its own read: its first receipt is Alice's
        # delivery of the marker Bob sends now.
        marker = self.assertSent(b1.send("yes", conversation_id=conversation))
        self.assertEqual(a1.next_payload("message"), marker)
        self.assertEqual(b1.next_payload("receipt"),
                         {"conversation_id": conversation, "user_id": alice.id,
                          "kind": "delivered", "up_to": marker["id"]})
        # up_to beyond the last message is clamped to it.
        self.assertEqual(a1.ack("message:read", {"conversation_id": conversation, "up_to": 10 ** 12}),
                         {"ok": True})
        receipt, _ = b1.wait_for("receipt", lambda r: r["kind"] == "read")
        self.assertEqual(receipt, {"conversation_id": conversation, "user_id": alice.id,
                                   "kind": "read", "up_to": marker["id"]})
        self.assertEqual(self.conversations(alice)[0]["unread_count"], 0)
        self.assertEqual(self.conversations(bob)[0]["unread_count"], 0)


class MoreOverWebSocket:
    """The heavier cases, over WebSocket only."""

    def test_concurrent_senders_every_socket_sees_each_conversation_in_order(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        a1, a2, b, c, d = (self.chat(alice), self.chat(alice), self.chat(bob), self.chat(carol),
                           self.chat(dave))
        group = self.group(alice, bob, carol)
        other = self.group(carol, dave, bob, title="Other")
        count = 100
        # Alice and Bob write in one conversation, Dave in another that Carol and Bob are in
        # too, all at the same time.
        streams = (("alice", a1, group), ("bob", b, group), ("dave", d, other))
        start = threading.Barrier(len(streams))
        acks = {}

        def stream(name, socket, conversation):
            payloads = [message_payload(f"{name} {n}", conversation_id=conversation)
                        for n in range(count)]
            start.wait(TIMEOUT)
            acks[name] = (payloads, socket.send_many(payloads, window=8))

        threads = [threading.Thread(target=stream, args=arguments, daemon=True)
                   for arguments in streams]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 3)
            self.assertFalse(thread.is_alive())
        self.assertEqual(set(acks), {"alice", "bob", "dave"}, "every stream finished")
        sent = {}
        for name, (payloads, answers) in acks.items():
            for payload, ack in zip(payloads, answers):
                message = self.assertSent(ack, body=payload["body"], client_id=payload["client_id"])
                sent[message["id"]] = message
        self.assertEqual(len(sent), 3 * count)
        by = {user.id: {i for i, m in sent.items() if m["sender_id"] == user.id}
              for user in (alice, bob, dave)}
        for socket, expected, what in (
            (a1, by[bob.id], "Alice's sending socket"),
            (a2, by[alice.id] | by[bob.id], "Alice's other tab"),
            (b, by[alice.id] | by[dave.id], "Bob's sending socket, in both conversations"),
            (c, set(sent), "Carol's socket, in both conversations"),
            (d, set(), "Dave's socket: nobody else wrote in his conversation"),
        ):
            with self.subTest(what):
                if expected:
                    socket.wait_count("message", len(expected))
                received = socket.payloads("message")
                ids = [m["id"] for m in received]
                self.assertEqual(set(ids), expected)
                self.assertEqual(len(ids), len(expected), "each once")
                # Within a conversation, the log's order (seq), and ids grow with seq. (Ids
                # are no global order in v2: across conversations nothing is promised.)
                for conversation in (group, other):
                    order = [(m["seq"], m["id"]) for m in received
                             if m["conversation_id"] == conversation]
                    out_of_order = [(x, y) for x, y in zip(order, order[1:])
                                    if y[0] <= x[0] or y[1] <= x[1]]
                    self.assertEqual(out_of_order, [], "strictly increasing seq and id on the wire")
                for message in received:
                    self.assertEqual(message, sent[message["id"]])
        # Each group's log: its creation (seq 1), then every message, no gap, ids growing.
        for conversation, senders in ((group, by[alice.id] | by[bob.id]), (other, by[dave.id])):
            history = self.full_history(carol, conversation)
            self.assertEqual([m["id"] for m in history], sorted(senders))
            self.assertEqual([m["seq"] for m in history], list(range(2, 2 + len(senders))))

    def test_sync_default_and_largest_limit(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        conversation = self.direct(alice, bob)
        acks = a.send_many([message_payload(f"m{n}", conversation_id=conversation)
                            for n in range(501)], window=32)
        sent = [self.assertSent(ack) for ack in acks]
        sent.sort(key=lambda m: m["seq"])
        self.assertEqual([m["seq"] for m in sent], list(range(1, 502)))
        self.assertEqual([m["id"] for m in sent], sorted(m["id"] for m in sent))
        b = self.chat(bob)

        def page(seq, limit=None):
            return self.sync(b, {conversation: seq}, limit)

        def without_object(answer):
            self.assertEqual(answer["conversations"], [], "its last change is in a later page")
            return answer["messages"], answer["has_more"]

        def with_object(answer):
            self.assertEqual([(c["id"], c["seq"]) for c in answer["conversations"]],
                             [(conversation, 501)], "the page with its last change")
            return answer["messages"], answer["has_more"]

        # The default limit is 200.
        self.assertEqual(without_object(page(0)), (sent[:200], True))
        self.assertEqual(without_object(page(sent[299]["seq"])), (sent[300:500], True))
        self.assertEqual(with_object(page(sent[300]["seq"])), (sent[301:], False))
        # The largest is 500.
        self.assertEqual(without_object(page(0, 500)), (sent[:500], True))
        self.assertEqual(with_object(page(sent[0]["seq"], 500)), (sent[1:], False))
        self.assertEqual(without_object(page(0, 1)), (sent[:1], True))
        self.assertEqual(with_object(page(sent[499]["seq"], 1)), (sent[500:], False))

    def test_mixed_transports(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a = self.chat(alice, transports=["polling"])
        b = self.chat(bob, transports=["websocket"])
        c = self.chat(carol, transports=["polling", "websocket"])
        self.assertEqual((a.sio.transport(), b.sio.transport(), c.sio.transport()),
                         ("polling", "websocket", "websocket"))
        group = self.group(carol, alice, bob)
        for sender, receivers in ((a, (b, c)), (b, (a, c)), (c, (a, b))):
            message = self.assertSent(sender.send(TRICKY, conversation_id=group), body=TRICKY)
            for receiver in receivers:
                self.assertEqual(receiver.next_payload("message"), message)

    def test_cookie_authenticated_socket_gets_messages(self):
        alice = self.user("Alice")
        phone = "+14155550149"
        self.assertEqual(self.server.request_code(phone).status, 202)
        response = self.server.verify(phone, self.server.wait_for_code(phone), "Bob")
        self.assertEqual(response.status, 200, response)
        bob = self.user_from(response.json())
        cookie = re.search(r"parley_session=([^;\s]+)",
                           " ".join(response.headers.get_all("Set-Cookie"))).group(1)
        by_cookie = Chat(self.server, None, ["websocket"],
                         headers={"Cookie": f"parley_session={cookie}"})
        self.addCleanup(by_cookie.disconnect)
        by_cookie.connect()
        a = self.chat(alice)
        message = self.assertSent(a.send("to every session", to=bob.id))
        self.assertEqual(by_cookie.next_payload("message"), message)


class RateLimitTest(RealtimeCase):
    flags = ("--message-rate", "1", "--message-burst", "2")

    def test_rate_limited_messages_are_refused_and_not_stored(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        accepted = [self.assertSent(a.send(f"burst {n}", conversation_id=conversation))
                    for n in range(2)]
        refused = []
        for n in range(50):  # at 1 per second, a refusal comes long before the 50th
            client_id = new_client_id()
            ack = a.send(f"more {n}", conversation_id=conversation, client_id=client_id)
            if ack.get("ok"):
                accepted.append(self.assertSent(ack))
                continue
            self.assertAckError(ack, "rate_limited")
            refused.append(client_id)
            break
        self.assertTrue(refused, "no rate_limited within 50 messages at --message-rate 1")
        self.assertTrue(a.connected)
        history = self.full_history(bob, conversation)
        self.assertEqual(history, accepted)
        self.assertNotIn(refused[0], [m["client_id"] for m in history])
        # The socket keeps working, and the limit is Alice's alone. A refused message took
        # no place in the log.
        self.assertEqual([m["seq"] for m in accepted], list(range(1, len(accepted) + 1)))
        answer = self.sync(a, {conversation: 0})
        self.assertEqual((answer["messages"], answer["has_more"]), (accepted, False))
        self.assertEqual([(c["id"], c["seq"]) for c in answer["conversations"]],
                         [(conversation, len(accepted))])
        from_bob = self.assertSent(b.send("Bob is not limited", conversation_id=conversation))
        self.assertEqual(a.next_payload("message"), from_bob)
        for message in accepted:
            self.assertEqual(b.next_payload("message"), message)


class WebSocketChatTest(WebSocket, Basics, MoreOverWebSocket, RealtimeCase):
    pass


class PollingChatTest(Polling, Basics, RealtimeCase):
    pass


if __name__ == "__main__":
    unittest.main()
