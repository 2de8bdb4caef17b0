"""The chat over Socket.IO (the contract's "Real time" section, with the choices of
notes/chat-decisions.md), driven by Debian's python3-socketio sync client: messages in direct
and group conversations, the sender's other tabs, outsiders, idempotent retries, `sync` (the
v2 catch-up by per-conversation cursors) after a disconnection, receipts, typing, presence,
ordering under concurrent senders, and every kind of bad payload. The common cases run over
WebSocket and over HTTP long-polling.

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
    ChatCase,
    message_payload,
    new_client_id,
    now_ms,
)

# Multi-byte UTF-8, an astral character (a surrogate pair in JSON), the polling record
# separator, a new line, quotes and a backslash.
TRICKY = "héllo ✓ 😀 \x1e sep\nline 2\t\"quoted\" \\ back"
SLACK_MS = 1000  # clock granularity; catches seconds-for-milliseconds and zero times


class RealtimeCase(ChatCase):
    flags = ("--message-rate", "0")

    def assertNow(self, ms, before, after):
        self.assertIs(type(ms), int)
        self.assertGreaterEqual(ms, before - SLACK_MS)
        self.assertLessEqual(ms, after + SLACK_MS)

    def group(self, owner, *others, title="Group"):
        return self.open_conversation(owner, *others, title=title, status=201)["id"]

    def direct(self, owner, other):
        return self.open_conversation(owner, other)["id"]

    def wait_delivered(self, senders_socket, conversation_id, user, up_to):
        """Waits on a socket of a message's sender for ``user``'s delivered receipt covering
        ``up_to`` (the mark is stored when the receipt goes out), taking the receipts before it."""
        senders_socket.wait_for("receipt", lambda r: (r["conversation_id"], r["user_id"], r["kind"])
                                == (conversation_id, user.id, "delivered") and r["up_to"] >= up_to)

    def assertSyncedEverything(self, chat, user, conversation_id, messages):
        """``user`` syncs ``conversation_id`` from its beginning (cursor 0) on ``chat``: exactly
        ``messages`` and the conversation object as listed over REST; then, from the seq of
        that object, nothing. (Call it once no mark moves any more: see wait_delivered.)"""
        answer = self.sync(chat, {conversation_id: 0})
        self.assertEqual((answer["messages"], answer["left"], answer["has_more"]),
                         (messages, [], False))
        self.assertEqual([c["id"] for c in answer["conversations"]], [conversation_id])
        synced = answer["conversations"][0]
        self.assertEqual(synced["seq"], messages[-1]["updated_seq"] if messages else 0)
        listed = next(c for c in self.conversations(user) if c["id"] == conversation_id)
        self.assertEqual(synced, listed)
        self.assertEqual(self.sync(chat, {conversation_id: synced["seq"]}),
                         {"ok": True, "conversations": [], "messages": [], "left": [],
                          "has_more": False})


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

    def test_typing_goes_to_the_other_members_only(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        a1, a2, b, c, d = (self.chat(alice), self.chat(alice), self.chat(bob), self.chat(carol),
                           self.chat(dave))
        group = self.group(alice, bob, carol)
        with_dave = self.direct(carol, dave)
        a1.emit("typing", {"conversation_id": group, "typing": True})
        started = {"conversation_id": group, "user_id": alice.id, "typing": True}
        self.assertEqual(b.next("typing"), (started,))
        self.assertEqual(c.next("typing"), (started,))
        b.emit("typing", {"conversation_id": group, "typing": False})
        stopped = {"conversation_id": group, "user_id": bob.id, "typing": False}
        self.assertEqual(a1.next_payload("typing"), stopped, "Alice's sockets: not her own typing")
        self.assertEqual(a2.next_payload("typing"), stopped)
        self.assertEqual(c.next_payload("typing"), stopped)
        c.emit("typing", {"conversation_id": with_dave, "typing": True})
        self.assertEqual(d.next_payload("typing"),
                         {"conversation_id": with_dave, "user_id": carol.id, "typing": True},
                         "Dave's first typing: he is in neither of the others")
        self.assertEqual(b.payloads("typing"), [started])

    def test_presence_to_users_who_have_them_as_a_contact(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        self.add_contact(alice, bob)
        self.add_contact(alice, dave)
        self.add_contact(carol, dave)
        a, c = self.chat(alice), self.chat(carol)

        before = now_ms()
        b1 = self.chat(bob)
        presence = a.next_payload("presence")
        self.assertEqual(set(presence), {"user_id", "online", "last_seen"}, presence)
        self.assertEqual((presence["user_id"], presence["online"]), (bob.id, True), presence)
        self.assertNow(presence["last_seen"], before, now_ms())

        b2 = self.chat(bob)  # not the first socket: no presence
        b2.disconnect()  # not the last: no presence
        before = now_ms()
        b1.disconnect()
        presence = a.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (bob.id, False), presence)
        self.assertNow(presence["last_seen"], before, now_ms())

        # Once the offline presence is out, the contact list says so too (an extra field).
        by_user = {contact["user"]["id"]: contact for contact in self.contacts(alice)}
        if "online" in by_user[bob.id]:
            self.assertIs(by_user[bob.id]["online"], False, by_user[bob.id])

        self.chat(dave)
        presence = a.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (dave.id, True), presence)
        by_user = {contact["user"]["id"]: contact for contact in self.contacts(alice)}
        if "online" in by_user[dave.id]:
            self.assertIs(by_user[dave.id]["online"], True, by_user[dave.id])
        presence = c.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (dave.id, True),
                         "Carol's first presence: she does not have Bob as a contact")
        self.assertEqual(len(a.payloads("presence")), 3, a.payloads("presence"))

    def test_no_presence_after_the_contact_is_deleted(self):
        alice, bob, dave = self.users("Alice", "Bob", "Dave")
        self.add_contact(alice, bob)
        self.add_contact(alice, dave)
        self.assertEqual(self.api("DELETE", f"/contacts/{bob.id}", user=alice).status, 204)
        a = self.chat(alice)
        self.chat(bob)
        self.chat(dave)
        presence = a.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (dave.id, True),
                         "Alice's first presence is Dave's: Bob is no longer her contact")

    def test_logout_disconnects_and_announces_offline(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob)
        a = self.chat(alice)
        b1, b2 = self.chat(bob), self.chat(bob)
        presence = a.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (bob.id, True), presence)
        self.assertEqual(self.api("POST", "/auth/logout", user=bob).status, 204)
        for socket in (b1, b2):
            self.assertTrue(socket.disconnected.wait(TIMEOUT), "logout disconnects the session")
        presence = a.next_payload("presence")
        self.assertEqual((presence["user_id"], presence["online"]), (bob.id, False), presence)
        # Messages to Bob still go in; he finds them with sync when back.
        self.assertSent(a.send("are you there?", to=bob.id))

    def test_delivered_receipts_in_a_group_go_to_the_senders_they_cover(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)
        first = self.assertSent(a.send("one", conversation_id=group))
        self.assertEqual(b.next_payload("message"), first)
        self.assertEqual(c.next_payload("message"), first)
        # Alice hears from both (python-socketio acks every message it gets).
        marks = set()
        while len(marks) < 2:
            receipt, _ = a.wait_for("receipt", lambda r: r["kind"] == "delivered")
            self.assertEqual((receipt["conversation_id"], receipt["up_to"]), (group, first["id"]))
            marks.add(receipt["user_id"])
        self.assertEqual(marks, {bob.id, carol.id})
        # Carol sent nothing up to there: Bob's mark is none of her business. Her first
        # receipt is about her own message.
        second = self.assertSent(c.send("two", conversation_id=group))
        receipt, skipped = c.wait_for("receipt", lambda r: r["kind"] == "delivered")
        self.assertEqual(receipt["up_to"], second["id"], receipt)
        self.assertIn(receipt["user_id"], (alice.id, bob.id))
        self.assertEqual(skipped, [])

    def test_read_receipts_in_a_group_go_to_every_other_member(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)
        first = self.assertSent(a.send("one", conversation_id=group))
        second = self.assertSent(c.send("two", conversation_id=group))
        self.assertEqual(b.next_payload("message"), first)
        self.assertEqual(b.next_payload("message"), second)
        self.assertEqual(b.ack("message:read", {"conversation_id": group, "up_to": second["id"]}),
                         {"ok": True})
        read = {"conversation_id": group, "user_id": bob.id, "kind": "read", "up_to": second["id"]}
        for socket in (a, c):
            receipt, skipped = socket.wait_for("receipt", lambda r: r["kind"] == "read")
            self.assertEqual(receipt, read)
            for other in skipped:
                self.assertEqual(other["kind"], "delivered", other)
                self.assertEqual(other["conversation_id"], group, other)
                self.assertIn(other["user_id"], (alice.id, bob.id, carol.id), other)
        # A read mark that does not advance sends nothing: before Carol's read receipt, Alice
        # gets no second one of Bob's for the first two messages. (Whether Bob's own message
        # moves his read mark, and says so, is the server's business: not checked.)
        self.assertEqual(b.ack("message:read", {"conversation_id": group, "up_to": first["id"]}),
                         {"ok": True})
        third = self.assertSent(b.send("three", conversation_id=group))
        self.assertEqual(c.ack("message:read", {"conversation_id": group, "up_to": third["id"]}),
                         {"ok": True})
        receipt, skipped = a.wait_for("receipt",
                                      lambda r: r["kind"] == "read" and r["user_id"] == carol.id)
        self.assertEqual(receipt, {"conversation_id": group, "user_id": carol.id, "kind": "read",
                                   "up_to": third["id"]})
        for other in skipped:
            if other["kind"] == "read":
                self.assertEqual((other["user_id"], other["up_to"]), (bob.id, third["id"]), other)

    def test_typing_from_a_non_member_is_dropped(self):
        alice, bob, outsider = self.users("Alice", "Bob", "Olivia")
        a, b, o = self.chat(alice), self.chat(bob), self.chat(outsider)
        conversation = self.direct(alice, bob)
        o.emit("typing", {"conversation_id": conversation, "typing": True})
        self.assertAckError(o.ack("typing", {"conversation_id": conversation, "typing": True}))
        b.emit("typing", {"conversation_id": conversation, "typing": True})
        self.assertEqual(a.next_payload("typing"),
                         {"conversation_id": conversation, "user_id": bob.id, "typing": True},
                         "Alice's first typing is Bob's")
        self.assertTrue(o.connected)

    def test_a_malformed_packet_closes_only_that_connection(self):
        alice, bob = self.users("Alice", "Bob")
        broken, a2, b = self.chat(alice), self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        broken.sio.eio.send('2["message:send",{"conversation_id":' + str(conversation) + ',"bo')
        self.assertTrue(broken.disconnected.wait(TIMEOUT), "the malformed packet closes it")
        message = self.assertSent(a2.send("still here", conversation_id=conversation))
        self.assertEqual(b.next_payload("message"), message)
        again = self.chat(alice)
        self.assertSent(again.send("and here", conversation_id=conversation))
        self.assertTrue(self.server.healthy())
        self.assertEqual(len(self.full_history(bob, conversation)), 2)

    def test_bad_payloads_get_error_acks_and_the_socket_keeps_working(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        theirs = self.direct(carol, dave)
        self.assertSent(self.chat(carol).send("not for Alice", conversation_id=theirs))

        def send(**fields):
            payload = {"conversation_id": conversation, "body": "hello", "client_id": new_client_id()}
            payload.update(fields)
            return {key: value for key, value in payload.items() if value is not OMIT}

        def cursor(conversation_id=conversation, seq=0):
            return {"conversation_id": conversation_id, "seq": seq}

        cases = [
            ("message:send", "a string", ("hello",), "bad_request"),
            ("message:send", "a number", (42,), "bad_request"),
            ("message:send", "an array", ([conversation, "hello"],), "bad_request"),
            ("message:send", "null", (None,), "bad_request"),
            ("message:send", "no argument", (), "bad_request"),
            ("message:send", "body missing", (send(body=OMIT),), "bad_request"),
            ("message:send", "body a number", (send(body=5),), "bad_request"),
            ("message:send", "body null", (send(body=None),), "bad_request"),
            ("message:send", "body an array", (send(body=["hi"]),), "bad_request"),
            ("message:send", "body empty", (send(body=""),), "bad_request"),
            ("message:send", "body white space", (send(body="  \n\t \r\n "),), "bad_request"),
            ("message:send", "body 4001 characters", (send(body="x" * 4001),), "body_too_long"),
            ("message:send", "body 4001 astral characters", (send(body="😀" * 4001),),
             "body_too_long"),
            ("message:send", "body 10,000 characters", (send(body="y" * 10_000),), "body_too_long"),
            ("message:send", "client_id missing", (send(client_id=OMIT),), "bad_request"),
            ("message:send", "client_id empty", (send(client_id=""),), "bad_request"),
            ("message:send", "client_id a number", (send(client_id=7),), "bad_request"),
            ("message:send", "client_id 101 characters", (send(client_id="c" * 101),),
             "bad_request"),
            ("message:send", "client_id with a control character", (send(client_id="a\nb"),),
             "bad_request"),
            ("message:send", "neither conversation_id nor to", (send(conversation_id=OMIT),),
             "bad_request"),
            ("message:send", "both conversation_id and to", (send(to=bob.id),), "bad_request"),
            ("message:send", "conversation_id a string", (send(conversation_id=str(conversation)),),
             "bad_request"),
            ("message:send", "conversation_id zero", (send(conversation_id=0),), "bad_request"),
            ("message:send", "conversation_id negative", (send(conversation_id=-conversation),),
             "bad_request"),
            ("message:send", "conversation_id fractional", (send(conversation_id=conversation + 0.5),),
             "bad_request"),
            ("message:send", "conversation_id boolean", (send(conversation_id=True),), "bad_request"),
            ("message:send", "conversation_id null", (send(conversation_id=None),), "bad_request"),
            ("message:send", "conversation_id beyond 64 bits", (send(conversation_id=2 ** 64 + 1),),
             "bad_request"),
            ("message:send", "to a string", (send(conversation_id=OMIT, to=str(bob.id)),),
             "bad_request"),
            ("message:send", "to zero", (send(conversation_id=OMIT, to=0),), "bad_request"),
            ("message:send", "to oneself", (send(conversation_id=OMIT, to=alice.id),), "bad_request"),
            ("message:send", "unknown conversation", (send(conversation_id=999999),), "not_found"),
            ("message:send", "conversation of others", (send(conversation_id=theirs),), "not_found"),
            ("message:send", "unknown user", (send(conversation_id=OMIT, to=999999),), "not_found"),
            ("sync", "a string", ("0",), "bad_request"),
            ("sync", "no argument", (), "bad_request"),
            ("sync", "an array", ([cursor()],), "bad_request"),
            ("sync", "cursors missing", ({},), "bad_request"),
            ("sync", "cursors missing, a limit given", ({"limit": 10},), "bad_request"),
            ("sync", "cursors null", ({"cursors": None},), "bad_request"),
            ("sync", "cursors an object", ({"cursors": cursor()},), "bad_request"),
            ("sync", "cursors a string", ({"cursors": "[]"},), "bad_request"),
            ("sync", "cursors a number", ({"cursors": 0},), "bad_request"),
            ("sync", "a cursor a number", ({"cursors": [conversation]},), "bad_request"),
            ("sync", "a cursor an array", ({"cursors": [[conversation, 0]]},), "bad_request"),
            ("sync", "a cursor null", ({"cursors": [cursor(), None]},), "bad_request"),
            ("sync", "conversation_id missing", ({"cursors": [{"seq": 0}]},), "bad_request"),
            ("sync", "conversation_id a string", ({"cursors": [cursor(str(conversation))]},),
             "bad_request"),
            ("sync", "conversation_id fractional", ({"cursors": [cursor(conversation + 0.5)]},),
             "bad_request"),
            ("sync", "conversation_id negative", ({"cursors": [cursor(-conversation)]},),
             "bad_request"),
            ("sync", "conversation_id zero", ({"cursors": [cursor(0)]},), "bad_request"),
            ("sync", "conversation_id null", ({"cursors": [cursor(None)]},), "bad_request"),
            ("sync", "conversation_id 2^63", ({"cursors": [cursor(2 ** 63)]},), "bad_request"),
            ("sync", "conversation_id beyond 64 bits", ({"cursors": [cursor(2 ** 64 + 1)]},),
             "bad_request"),
            ("sync", "seq missing", ({"cursors": [{"conversation_id": conversation}]},),
             "bad_request"),
            ("sync", "seq negative", ({"cursors": [cursor(seq=-1)]},), "bad_request"),
            ("sync", "seq fractional", ({"cursors": [cursor(seq=1.5)]},), "bad_request"),
            ("sync", "seq a string", ({"cursors": [cursor(seq="0")]},), "bad_request"),
            ("sync", "seq null", ({"cursors": [cursor(seq=None)]},), "bad_request"),
            ("sync", "seq beyond 64 bits", ({"cursors": [cursor(seq=2 ** 64)]},), "bad_request"),
            ("sync", "a bad cursor after a good one", ({"cursors": [cursor(), cursor(seq=-1)]},),
             "bad_request"),
            ("sync", "limit zero", ({"cursors": [cursor()], "limit": 0},), "bad_request"),
            ("sync", "limit negative", ({"cursors": [cursor()], "limit": -1},), "bad_request"),
            ("sync", "limit 501", ({"cursors": [cursor()], "limit": 501},), "bad_request"),
            ("sync", "limit fractional", ({"cursors": [cursor()], "limit": 1.5},), "bad_request"),
            ("sync", "limit a string", ({"cursors": [cursor()], "limit": "5"},), "bad_request"),
            ("sync", "limit a boolean", ({"cursors": [cursor()], "limit": True},), "bad_request"),
            ("message:read", "a string", ("read",), "bad_request"),
            ("message:read", "no argument", (), "bad_request"),
            ("message:read", "up_to missing", ({"conversation_id": conversation},), "bad_request"),
            ("message:read", "conversation_id missing", ({"up_to": 1},), "bad_request"),
            ("message:read", "up_to negative", ({"conversation_id": conversation, "up_to": -1},),
             "bad_request"),
            ("message:read", "up_to a string", ({"conversation_id": conversation, "up_to": "1"},),
             "bad_request"),
            ("message:read", "conversation_id a string",
             ({"conversation_id": str(conversation), "up_to": 1},), "bad_request"),
            ("message:read", "unknown conversation", ({"conversation_id": 999999, "up_to": 1},),
             "not_found"),
            ("message:read", "conversation of others", ({"conversation_id": theirs, "up_to": 1},),
             "not_found"),
            ("typing", "a string (with an ack)", ("typing",), "bad_request"),
            ("typing", "typing not a boolean", ({"conversation_id": conversation, "typing": "yes"},),
             "bad_request"),
            ("typing", "conversation of others", ({"conversation_id": theirs, "typing": True},), None),
            ("no:such:event", "unknown event with an ack", ({"x": 1},), "bad_request"),
        ]
        for event, what, args, code in cases:
            with self.subTest(event=event, case=what):
                try:
                    answer = a.call(event, *args)
                except AssertionError:
                    a.disconnect()
                    a = self.chat(alice)  # a fresh socket for the cases that follow
                    raise
                self.assertEqual(len(answer), 1, answer)
                self.assertAckError(answer[0], code)
                self.assertTrue(a.connected)
        self.assertTrue(self.server.healthy())

        # The longest bodies pass (characters, not bytes or UTF-16 units; trimmed first).
        longest = self.assertSent(a.send("😀" * 4000, conversation_id=conversation), body="😀" * 4000)
        padded = self.assertSent(a.send("  " + "é" * 4000 + "\n", conversation_id=conversation),
                                 body="é" * 4000)
        # Nothing bad was stored or delivered: Bob's first messages are the good ones.
        self.assertEqual(b.next_payload("message"), longest)
        self.assertEqual(b.next_payload("message"), padded)
        # Alice's sync from the start: the two; Carol's and Dave's conversation is not hers.
        answer = self.sync(a, {conversation: 0, theirs: 0})
        self.assertEqual((answer["messages"], answer["left"], answer["has_more"]),
                         ([longest, padded], [theirs], False))
        self.assertEqual([c["id"] for c in answer["conversations"]], [conversation])
        self.assertEqual(answer["conversations"][0]["seq"], padded["seq"])
        self.assertEqual(self.full_history(bob, conversation), [longest, padded])
        self.assertEqual(len(self.full_history(carol, theirs)), 1)
        self.assertNotIn("typing", b.queues)

    def test_lone_surrogates_in_the_body_are_bad_request(self):
        alice, bob = self.users("Alice", "Bob")
        b = self.chat(bob)
        conversation = self.direct(alice, bob)
        # json.dumps writes these as \\uXXXX escapes: valid JSON syntax, not valid text.
        bodies = {"lone high surrogate": "\ud800", "lone low surrogate": "a\udc00b",
                  "reversed pair": "\ude00\ud83d", "high surrogate at the end": "abc\ud83d"}
        sockets = {what: self.chat(alice) for what in bodies}
        answers = {}

        def send(what):
            try:
                answers[what] = sockets[what].call(
                    "message:send", message_payload(bodies[what], conversation_id=conversation))
            except AssertionError as error:
                answers[what] = error

        threads = [threading.Thread(target=send, args=(what,), daemon=True) for what in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        for what in bodies:
            with self.subTest(what):
                answer = answers.get(what)
                if isinstance(answer, Exception):
                    self.fail(f"{answer} (the server closed the connection?)")
                self.assertEqual(len(answer), 1, answer)
                self.assertAckError(answer[0], "bad_request")
                self.assertTrue(sockets[what].connected)
        a = self.chat(alice)
        good = self.assertSent(a.send("😀 fine", conversation_id=conversation), body="😀 fine")
        self.assertEqual(b.next_payload("message"), good, "nothing bad was delivered")
        self.assertEqual(self.full_history(bob, conversation), [good])


OMIT = object()


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


class WebSocket:
    transports = ("websocket",)


class Polling:
    transports = ("polling",)


class WebSocketChatTest(WebSocket, Basics, MoreOverWebSocket, RealtimeCase):
    pass


class PollingChatTest(Polling, Basics, RealtimeCase):
    pass


if __name__ == "__main__":
    unittest.main()
