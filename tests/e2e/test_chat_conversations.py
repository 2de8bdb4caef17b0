"""The chat's REST API for conversations and history (the contract's "Conversations and
history" section, with the choices of docs/api.md): direct and group conversations, their
order, last message and unread count, history paging, bad input and authorization. Messages
are sent the only way the contract allows, with message:send over Socket.IO (python3-socketio's
sync client).
"""

import unittest

from chat_support import (
    MESSAGE_FIELDS,
    message_payload,
    now_ms,
    wait_for_clock_past,
)
from rest_support import RestCase


class ConversationsTest(RestCase):
    def test_direct_conversation_is_created_once(self):
        alice, bob = self.users("Alice", "Bob")
        response = self.api("POST", "/conversations", {"members": [bob.id]}, alice)
        self.assertEqual(response.status, 201, response)
        self.assertEqual(set(response.json()), {"conversation"}, response)
        created = response.json()["conversation"]
        # A direct conversation's first change is its first message: none yet.
        self.assertConversation(created, "direct", [alice, bob], "Bob", seq=0)

        again = self.api("POST", "/conversations", {"members": [bob.id]}, alice)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json()["conversation"], created)
        # The caller's own id is ignored; a title is ignored for a direct conversation.
        same = self.api("POST", "/conversations", {"members": [alice.id, bob.id], "title": "T"}, alice)
        self.assertEqual(same.status, 200, same)
        self.assertEqual(same.json()["conversation"]["id"], created["id"])
        self.assertEqual(same.json()["conversation"]["title"], "Bob")
        # From the other side it is the same conversation, titled with the other's name.
        theirs = self.api("POST", "/conversations", {"members": [alice.id]}, bob)
        self.assertEqual(theirs.status, 200, theirs)
        self.assertConversation(theirs.json()["conversation"], "direct", [alice, bob], "Alice", seq=0)
        self.assertEqual(theirs.json()["conversation"]["id"], created["id"])

        self.assertEqual(self.conversations(alice), [created])

    def test_direct_title_is_the_callers_nickname(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob, "My Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        self.assertEqual(conversation["title"], "My Bob")
        self.assertEqual(self.conversations(alice)[0]["title"], "My Bob")
        self.api("PATCH", f"/contacts/{bob.id}", {"name": "Robert"}, alice)
        self.assertEqual(self.conversations(alice)[0]["title"], "Robert")
        # Bob has no nickname for Alice: her own name.
        chat = self.chat(alice)
        chat.send("hi", conversation_id=conversation["id"])
        self.assertEqual(self.conversations(bob)[0]["title"], "Alice")

    def test_direct_conversation_shows_to_the_other_member_once_it_has_a_message(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        self.assertEqual([c["id"] for c in self.conversations(alice)], [conversation["id"]])
        self.assertEqual(self.conversations(bob), [])
        message = self.chat(alice).send("first", conversation_id=conversation["id"])["message"]
        listed = self.conversations(bob)
        self.assertEqual(len(listed), 1, listed)
        self.assertConversation(listed[0], "direct", [alice, bob], "Alice", message, 1, seq=1)
        self.assertEqual(message["seq"], 1, "the first change of a direct conversation")
        self.assertEqual(self.member(listed[0], bob)["read_up_to"], 0, "nothing read")

    def test_group_conversation(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        response = self.api("POST", "/conversations",
                            {"members": [bob.id, carol.id], "title": "  Weekend trip  "}, alice)
        self.assertEqual(response.status, 201, response)
        group = response.json()["conversation"]
        # The creator is the first admin; creating a group is its first change.
        self.assertConversation(group, "group", [alice, bob, carol], "Weekend trip", admins=[alice],
                                seq=1)
        # Groups show to every member at once; another group with the same people is new.
        for member in (alice, bob, carol):
            self.assertEqual(self.conversations(member), [group], member)
        second = self.open_conversation(alice, bob, carol, title="Weekend trip", status=201)
        self.assertNotEqual(second["id"], group["id"])
        # Repeated ids count once: one other is the direct conversation, not a group.
        direct = self.api("POST", "/conversations", {"members": [bob.id, bob.id], "title": "T"}, alice)
        self.assertEqual(direct.status, 201, direct)
        self.assertConversation(direct.json()["conversation"], "direct", [alice, bob], "Bob", seq=0)
        deduplicated = self.open_conversation(alice, bob, bob, carol, carol, title="Dups", status=201)
        self.assertConversation(deduplicated, "group", [alice, bob, carol], "Dups", admins=[alice],
                                seq=1)
        # The caller in the list is ignored; two others still make a group.
        third = self.open_conversation(bob, alice, bob, carol, title="x" * 100, status=201)
        self.assertConversation(third, "group", [alice, bob, carol], "x" * 100, admins=[bob], seq=1)

    def test_create_errors(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        cases = [
            ("members missing", {}, 400, "bad_request"),
            ("members not an array", {"members": bob.id}, 400, "bad_request"),
            ("members a string", {"members": str(bob.id)}, 400, "bad_request"),
            ("members empty", {"members": []}, 400, "bad_request"),
            ("member id a string", {"members": [str(bob.id)]}, 400, "bad_request"),
            ("member id zero", {"members": [0]}, 400, "bad_request"),
            ("member id negative", {"members": [-bob.id]}, 400, "bad_request"),
            ("member id fractional", {"members": [bob.id + 0.5]}, 400, "bad_request"),
            ("member id boolean", {"members": [True]}, 400, "bad_request"),
            ("member id null", {"members": [None]}, 400, "bad_request"),
            ("member id beyond 64 bits", {"members": [2 ** 64 + bob.id]}, 400, "bad_request"),
            ("only the caller", {"members": [alice.id]}, 400, "bad_request"),
            ("body an array", [bob.id], 400, "bad_request"),
            ("body not JSON", "{members", 400, "bad_request"),
            ("group without a title", {"members": [bob.id, carol.id]}, 400, "bad_request"),
            ("group title null", {"members": [bob.id, carol.id], "title": None}, 400, "bad_request"),
            ("group title empty", {"members": [bob.id, carol.id], "title": ""}, 400, "bad_request"),
            ("group title blank", {"members": [bob.id, carol.id], "title": "  \t "}, 400,
             "bad_request"),
            ("group title 101 characters", {"members": [bob.id, carol.id], "title": "t" * 101},
             400, "bad_request"),
            ("group title not a string", {"members": [bob.id, carol.id], "title": 7}, 400,
             "bad_request"),
            ("unknown member", {"members": [999999]}, 404, "user_not_found"),
            ("unknown member in a group", {"members": [bob.id, 999999], "title": "G"}, 404,
             "user_not_found"),
        ]
        for what, body, status, code in cases:
            with self.subTest(what):
                self.assertError(self.api("POST", "/conversations", body, alice), status, code)
        for user in (alice, bob, carol):
            self.assertEqual(self.conversations(user), [])

    def test_list_is_ordered_by_recent_activity(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        chat = self.chat(alice)
        with_bob = self.open_conversation(alice, bob, status=201)
        group = self.open_conversation(alice, bob, carol, title="Group", status=201)
        with_carol = self.open_conversation(alice, carol, status=201)
        last = {}

        def send(conversation, body):
            message = chat.send(body, conversation_id=conversation["id"])["message"]
            last[conversation["id"]] = message
            wait_for_clock_past(message["sent_at"])  # the next activity is strictly later
            return message

        send(with_bob, "one")
        send(group, "two")
        send(with_carol, "three")
        self.assertEqual([c["id"] for c in self.conversations(alice)],
                         [with_carol["id"], group["id"], with_bob["id"]])
        send(with_bob, "four")
        self.assertEqual([c["id"] for c in self.conversations(alice)],
                         [with_bob["id"], with_carol["id"], group["id"]])
        # An empty conversation counts from its creation, after every message so far.
        newest = self.open_conversation(alice, bob, carol, title="Empty", status=201)
        listed = self.conversations(alice)
        self.assertEqual([c["id"] for c in listed],
                         [newest["id"], with_bob["id"], with_carol["id"], group["id"]])
        for conversation in listed:
            self.assertEqual(conversation["last_message"], last.get(conversation["id"]))
            self.assertEqual(conversation["unread_count"], 0, "own messages are not unread")
        wait_for_clock_past(now_ms())
        send(group, "five")
        self.assertEqual([c["id"] for c in self.conversations(alice)],
                         [group["id"], newest["id"], with_bob["id"], with_carol["id"]])
        # Bob sees the direct conversation (it has messages) and both groups.
        self.assertEqual([c["id"] for c in self.conversations(bob)],
                         [group["id"], newest["id"], with_bob["id"]])

    def test_last_message_and_unread_count(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        group = self.open_conversation(alice, bob, carol, dave, title="G", status=201)["id"]
        alices, bobs, carols, daves = self.chat(alice), self.chat(bob), self.chat(carol), self.chat(dave)
        # Alice writes first, then the others: all four later messages are unread for her.
        # Dave only reads. (The server also counts one's own message as read by oneself,
        # which moves the read mark; Alice's and Dave's counts do not depend on that.)
        mine = self.assertSent(alices.send("a0", conversation_id=group))
        from_bob = [bobs.send(f"b{n}", conversation_id=group)["message"] for n in range(3)]
        from_carol = carols.send("c0", conversation_id=group)["message"]

        # The group's log: its creation (seq 1), then the five messages.
        self.assertEqual([m["seq"] for m in [mine, *from_bob, from_carol]], [2, 3, 4, 5, 6])
        self.assertConversation(self.conversations(alice)[0], "group", [alice, bob, carol, dave],
                                "G", from_carol, 4, admins=[alice], seq=6)
        self.assertConversation(self.conversations(dave)[0], "group", [alice, bob, carol, dave],
                                "G", from_carol, 5, admins=[alice], seq=6)
        self.assertEqual(self.member(self.conversations(dave)[0], dave)["read_up_to"], 0)

        # Everyone sees everyone's read mark in the conversation object.
        read = daves.ack("message:read", {"conversation_id": group, "up_to": from_bob[1]["id"]})
        self.assertEqual(read, {"ok": True})
        self.assertEqual(self.conversations(dave)[0]["unread_count"], 2)
        for viewer in (alice, dave):
            self.assertEqual(self.member(self.conversations(viewer)[0], dave)["read_up_to"],
                             from_bob[1]["id"])
        read = alices.ack("message:read", {"conversation_id": group, "up_to": from_bob[0]["id"]})
        self.assertEqual(read, {"ok": True})
        self.assertEqual(self.conversations(alice)[0]["unread_count"], 3)
        self.assertEqual(self.member(self.conversations(bob)[0], alice)["read_up_to"], from_bob[0]["id"])
        read = alices.ack("message:read", {"conversation_id": group, "up_to": from_carol["id"]})
        self.assertEqual(read, {"ok": True})
        self.assertEqual(self.conversations(alice)[0]["unread_count"], 0)
        # The read mark does not go back.
        read = alices.ack("message:read", {"conversation_id": group, "up_to": mine["id"]})
        self.assertEqual(read, {"ok": True})
        self.assertEqual(self.conversations(alice)[0]["unread_count"], 0)
        self.assertEqual(self.member(self.conversations(alice)[0], alice)["read_up_to"], from_carol["id"])
        # Read marks are not log changes: no seq taken.
        self.assertEqual(self.conversations(alice)[0]["seq"], 6)
        # A new message from someone else is unread again.
        newer = bobs.send("b3", conversation_id=group)["message"]
        self.assertEqual(self.conversations(alice)[0]["unread_count"], 1)
        self.assertEqual(self.conversations(alice)[0]["last_message"], newer)
        self.assertEqual(self.conversations(dave)[0]["unread_count"], 3)
        # Reading beyond the last message is clamped: nothing unread, and later messages count.
        read = daves.ack("message:read", {"conversation_id": group, "up_to": 10 ** 12})
        self.assertEqual(read, {"ok": True})
        self.assertEqual(self.conversations(dave)[0]["unread_count"], 0)
        self.assertEqual(self.member(self.conversations(dave)[0], dave)["read_up_to"], newer["id"])
        alices.send("a1", conversation_id=group)
        self.assertEqual(self.conversations(dave)[0]["unread_count"], 1)
        # Bob's own messages are never unread for him.
        self.assertEqual(self.conversations(bob)[0]["unread_count"], 1)


class HistoryTest(RestCase):
    COUNT = 1000

    def test_paging_through_a_thousand_messages(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        alices, bobs = self.chat(alice), self.chat(bob)
        payloads = [message_payload(f"message {n} ✓", conversation_id=conversation["id"])
                    for n in range(self.COUNT)]
        # Both write, so the history interleaves two senders.
        acks = alices.send_many(payloads[: self.COUNT // 2], window=16) + \
            bobs.send_many(payloads[self.COUNT // 2:], window=16)
        sent = {}
        for payload, ack in zip(payloads, acks):
            message = self.assertSent(ack, conversation_id=conversation["id"], body=payload["body"],
                                      client_id=payload["client_id"])
            sent[message["id"]] = message
        self.assertEqual(len(sent), self.COUNT, "every message got an id of its own")

        for reader in (alice, bob):
            for limit in (100, 37):
                with self.subTest(reader=reader.name, limit=limit):
                    history = self.full_history(reader, conversation["id"], limit)
                    ids = [message["id"] for message in history]
                    self.assertEqual(ids, sorted(sent), "every id once, ascending")
                    self.assertEqual(history, [sent[i] for i in ids])

        # Default limit 50: the newest 50.
        page = self.history_page(alice, conversation["id"])
        self.assertEqual([m["id"] for m in page["messages"]], sorted(sent)[-50:])
        self.assertIs(page["has_more"], True)
        # before is exclusive; the oldest page says there is nothing more.
        ids = sorted(sent)
        page = self.history_page(alice, conversation["id"], before=ids[10], limit=100)
        self.assertEqual([m["id"] for m in page["messages"]], ids[:10])
        self.assertIs(page["has_more"], False)
        page = self.history_page(alice, conversation["id"], before=ids[0])
        self.assertEqual(page, {"messages": [], "has_more": False})
        page = self.history_page(alice, conversation["id"], before=ids[500], limit=1)
        self.assertEqual(page, {"messages": [sent[ids[499]]], "has_more": True})
        # A before beyond the newest message is fine: the newest page.
        page = self.history_page(alice, conversation["id"], before=ids[-1] + 1000, limit=3)
        self.assertEqual([m["id"] for m in page["messages"]], ids[-3:])

    def test_empty_and_exact_boundaries(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        self.assertEqual(self.history_page(alice, conversation["id"]),
                         {"messages": [], "has_more": False})
        chat = self.chat(alice)
        sent = [chat.send(f"m{n}", conversation_id=conversation["id"])["message"] for n in range(4)]
        self.assertEqual(self.history_page(alice, conversation["id"], limit=4),
                         {"messages": sent, "has_more": False})
        self.assertEqual(self.history_page(alice, conversation["id"], limit=2),
                         {"messages": sent[2:], "has_more": True})
        self.assertEqual(self.history_page(alice, conversation["id"], before=sent[2]["id"], limit=2),
                         {"messages": sent[:2], "has_more": False})
        self.assertEqual(self.history_page(alice, conversation["id"], limit=100),
                         {"messages": sent, "has_more": False})
        # Messages of other conversations are not in this one's history.
        other = self.open_conversation(alice, bob, self.user("Carol"), title="G", status=201)
        chat.send("elsewhere", conversation_id=other["id"])
        self.assertEqual(self.history_page(alice, conversation["id"])["messages"], sent)
        for message in sent:
            self.assertEqual(set(message), MESSAGE_FIELDS)

    def test_bad_limit_and_before(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        self.chat(alice).send("hi", conversation_id=conversation["id"])
        path = f"/conversations/{conversation['id']}/messages"
        for query in ("limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "limit=10abc",
                      "limit=", "limit=1e2", "limit=99999999999999999999",
                      "before=abc", "before=0", "before=-1", "before=1.5", "before=",
                      "before=99999999999999999999", "before=12x", "limit=5&before=x",
                      "limit=x&before=5"):
            with self.subTest(query):
                self.assertError(self.api("GET", f"{path}?{query}", user=alice), 400, "bad_request")
        for query in ("limit=1", "limit=100", "before=1", "before=9223372036854775807",
                      "limit=7&before=5"):
            with self.subTest(query):
                self.assertEqual(self.api("GET", f"{path}?{query}", user=alice).status, 200)


class HistoryAuthorizationTest(RestCase):
    def test_history_of_a_conversation_one_is_not_in_is_not_found(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        theirs = self.open_conversation(bob, carol, status=201)
        group = self.open_conversation(bob, carol, self.user("Dave"), title="No Alice", status=201)
        bobs = self.chat(bob)
        bobs.send("private", conversation_id=theirs["id"])
        bobs.send("private too", conversation_id=group["id"])
        not_found = [
            f"/conversations/{theirs['id']}/messages",
            f"/conversations/{theirs['id']}/messages?limit=10",
            f"/conversations/{group['id']}/messages",
            "/conversations/999999/messages",
            "/conversations/abc/messages",
            "/conversations/0/messages",
            "/conversations/-1/messages",
        ]
        for path in not_found:
            with self.subTest(path):
                error = self.assertError(self.api("GET", path, user=alice), 404, "not_found")
                self.assertNotIn("private", error["message"])
        # Bad parameters: the same answer for someone else's conversation as for one that
        # does not exist (whichever check comes first, existence is not leaked).
        for query in ("limit=0", "before=abc"):
            with self.subTest(query):
                theirs_answer = self.api("GET", f"/conversations/{theirs['id']}/messages?{query}",
                                         user=alice)
                unknown_answer = self.api("GET", f"/conversations/999999/messages?{query}",
                                          user=alice)
                self.assertIn(theirs_answer.status, (400, 404), theirs_answer)
                self.assertEqual((theirs_answer.status, theirs_answer.json()),
                                 (unknown_answer.status, unknown_answer.json()))
        self.assertEqual(self.conversations(alice), [])
        # Alice's own conversation with Bob is hers to read.
        mine = self.open_conversation(alice, bob, status=201)
        self.assertEqual(self.history_page(alice, mine["id"]), {"messages": [], "has_more": False})

    def test_a_non_member_cannot_send_to_or_read_a_conversation(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        theirs = self.open_conversation(bob, carol, status=201)
        chat = self.chat(alice)
        self.assertAckError(chat.send("intrusion", conversation_id=theirs["id"]), "not_found")
        self.assertAckError(chat.ack("message:read", {"conversation_id": theirs["id"], "up_to": 1}),
                            "not_found")
        self.assertEqual(self.history_page(bob, theirs["id"]), {"messages": [], "has_more": False})


if __name__ == "__main__":
    unittest.main()
