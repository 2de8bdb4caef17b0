"""The chat's other events over Socket.IO (the contract's "Real time" section), driven by
Debian's python3-socketio sync client: typing, presence, logout, receipts in groups, and every
kind of bad packet and payload (error acks, the socket working on). Over WebSocket and over
HTTP long-polling. Messages, sync and receipts between two: test_chat_realtime.

"Receives nothing" is proven with a marker, as there (chat_support.Chat reads events in wire
order).
"""

import threading
import unittest

from chat_support import (
    TIMEOUT,
    message_payload,
    new_client_id,
    now_ms,
)
from realtime_support import Polling, RealtimeCase, WebSocket

OMIT = object()  # a payload field left out


class Events:
    """Run over each transport (see the classes at the end)."""

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


class WebSocketEventsTest(WebSocket, Events, RealtimeCase):
    pass


class PollingEventsTest(Polling, Events, RealtimeCase):
    pass


if __name__ == "__main__":
    unittest.main()
