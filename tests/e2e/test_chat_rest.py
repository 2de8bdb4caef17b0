"""The chat's REST API (the contract's "Contacts" and "Conversations and history"
sections, with the choices of notes/chat-decisions.md): contacts, conversations, history
paging, bad input, authorization. Messages are sent the only way the contract allows, with
message:send over Socket.IO (python3-socketio's sync client).
"""

import concurrent.futures
import unittest

from chat_support import (
    MESSAGE_FIELDS,
    USER_FIELDS,
    ChatCase,
    message_payload,
    now_ms,
    wait_for_clock_past,
)

CONTACT_FIELDS = {"user", "name", "conversation_id"}


class RestCase(ChatCase):
    flags = ("--message-rate", "0")

    def assertContact(self, contact, user, name, conversation_id=None):
        self.assertIsInstance(contact, dict, contact)
        self.assertLessEqual(CONTACT_FIELDS, set(contact), contact)
        self.assertEqual(contact["user"], user.user, contact)
        self.assertEqual(contact["name"], name, contact)
        self.assertEqual(contact["conversation_id"], conversation_id, contact)
        if "online" in contact:  # an extra of chat-decisions.md
            self.assertIsInstance(contact["online"], bool, contact)

    def assertConversation(self, conversation, kind, members, title, last_message=None,
                           unread_count=0, admins=(), seq=None):
        """A v2 conversation object: ``members`` (Users) with their user fields, ``admins``
        (Users) the only ones flagged admin, and when given the conversation's latest seq."""
        self.assertConversationObject(conversation)
        self.assertEqual(conversation["kind"], kind, conversation)
        self.assertEqual(conversation["title"], title, conversation)
        self.assertEqual(sorted(({key: member[key] for key in USER_FIELDS}
                                 for member in conversation["members"]), key=lambda user: user["id"]),
                         sorted((member.user for member in members), key=lambda user: user["id"]),
                         conversation)
        self.assertEqual(sorted(member["id"] for member in conversation["members"] if member["admin"]),
                         sorted(admin.id for admin in admins), conversation)
        self.assertEqual(conversation["last_message"], last_message, conversation)
        self.assertEqual(conversation["unread_count"], unread_count, conversation)
        if seq is not None:
            self.assertEqual(conversation["seq"], seq, conversation)


class ContactsTest(RestCase):
    def test_add_by_phone_with_and_without_nickname(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.assertEqual(self.contacts(alice), [])

        response = self.api("POST", "/contacts", {"phone": bob.phone}, alice)
        self.assertEqual(response.status, 201, response)
        self.assertEqual(set(response.json()), {"contact"}, response)
        self.assertContact(response.json()["contact"], bob, "Bob")

        # A national format (default region US) and a nickname, trimmed.
        national = f"({carol.phone[2:5]}) {carol.phone[5:8]}-{carol.phone[8:]}"
        response = self.api("POST", "/contacts", {"phone": national, "name": "  Caz  "}, alice)
        self.assertEqual(response.status, 201, response)
        self.assertContact(response.json()["contact"], carol, "Caz")

        contacts = self.contacts(alice)
        self.assertEqual(len(contacts), 2, contacts)
        self.assertContact(contacts[0], bob, "Bob")
        self.assertContact(contacts[1], carol, "Caz")
        # Contacts are one-way: nobody added Alice.
        self.assertEqual(self.contacts(bob), [])
        self.assertEqual(self.contacts(carol), [])
        # Adding a contact does not create a conversation.
        self.assertEqual(self.conversations(alice), [])

    def test_list_is_sorted_by_name_case_insensitively_then_by_user_id(self):
        owner = self.user("Owner")
        people = self.users("P1", "P2", "P3", "P4", "P5")
        nicknames = ["delta", "Bravo", "alpha", "Alpha", "charlie"]
        for person, nickname in zip(people, nicknames):
            self.add_contact(owner, person, nickname)
        listed = [(contact["name"], contact["user"]["id"]) for contact in self.contacts(owner)]
        expected = sorted(((nickname, person.id) for person, nickname in zip(people, nicknames)),
                          key=lambda pair: (pair[0].lower(), pair[1]))
        self.assertEqual(listed, expected)

    def test_add_errors(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob)
        stranger = "+14155550199"  # no account
        cases = [
            ("phone missing", {}, 400, "bad_request"),
            ("phone not a string", {"phone": 14155550102}, 400, "bad_request"),
            ("phone null", {"phone": None}, 400, "bad_request"),
            ("name not a string", {"phone": stranger, "name": 5}, 400, "bad_request"),
            ("name null", {"phone": stranger, "name": None}, 400, "bad_request"),
            ("body an array", [bob.phone], 400, "bad_request"),
            ("body a string", "+14155550102", 400, "bad_request"),
            ("body not JSON", "{phone:", 400, "bad_request"),
            ("phone unparseable", {"phone": "hello"}, 400, "invalid_phone"),
            ("phone too short", {"phone": "+1 415"}, 400, "invalid_phone"),
            ("phone empty", {"phone": ""}, 400, "invalid_phone"),
            ("name empty", {"phone": stranger, "name": ""}, 400, "invalid_name"),
            ("name only spaces", {"phone": stranger, "name": "   "}, 400, "invalid_name"),
            ("name 65 characters", {"phone": stranger, "name": "n" * 65}, 400, "invalid_name"),
            ("name with a control character", {"phone": stranger, "name": "a\x07b"}, 400,
             "invalid_name"),
            ("own phone", {"phone": alice.phone}, 400, "cannot_add_self"),
            ("own phone, national format", {"phone": "(415) 555-0101"}, 400, "cannot_add_self"),
            ("no account", {"phone": stranger}, 404, "user_not_found"),
            ("already a contact", {"phone": bob.phone}, 409, "already_contact"),
            ("already a contact, other format and a name", {"phone": "415 555 0102", "name": "B"},
             409, "already_contact"),
        ]
        self.assertEqual(alice.phone, "+14155550101")
        self.assertEqual(bob.phone, "+14155550102")
        for what, body, status, code in cases:
            with self.subTest(what):
                self.assertError(self.api("POST", "/contacts", body, alice), status, code)
        self.assertEqual([contact["user"]["id"] for contact in self.contacts(alice)], [bob.id])
        self.assertEqual(self.contacts(bob), [])

    def test_name_limits(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        longest = "é" * 63 + "😀"  # 64 characters, more bytes
        self.assertContact(self.add_contact(alice, bob, longest), bob, longest)
        response = self.api("PATCH", f"/contacts/{bob.id}", {"name": " x "}, alice)
        self.assertEqual(response.status, 200, response)
        self.assertContact(response.json()["contact"], bob, "x")
        response = self.api("POST", "/contacts", {"phone": carol.phone, "name": "😀" * 65}, alice)
        self.assertError(response, 400, "invalid_name")

    def test_rename(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob)
        response = self.api("PATCH", f"/contacts/{bob.id}", {"name": "  Bobby  "}, alice)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(set(response.json()), {"contact"}, response)
        self.assertContact(response.json()["contact"], bob, "Bobby")
        self.assertContact(self.contacts(alice)[0], bob, "Bobby")
        # The nickname is Alice's alone: Bob's own name is unchanged.
        self.assertEqual(self.api("GET", "/me", user=bob).json()["user"]["name"], "Bob")

    def test_rename_errors(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.add_contact(alice, bob)
        cases = [
            ("name missing", f"/contacts/{bob.id}", {}, 400, "bad_request"),
            ("name not a string", f"/contacts/{bob.id}", {"name": 5}, 400, "bad_request"),
            ("name null", f"/contacts/{bob.id}", {"name": None}, 400, "bad_request"),
            ("body an array", f"/contacts/{bob.id}", ["x"], 400, "bad_request"),
            ("name empty", f"/contacts/{bob.id}", {"name": ""}, 400, "invalid_name"),
            ("name blank", f"/contacts/{bob.id}", {"name": " \t "}, 400, "invalid_name"),
            ("name too long", f"/contacts/{bob.id}", {"name": "x" * 65}, 400, "invalid_name"),
            ("not a contact", f"/contacts/{carol.id}", {"name": "C"}, 404, "not_a_contact"),
            ("oneself", f"/contacts/{alice.id}", {"name": "Me"}, 404, "not_a_contact"),
            ("unknown user", "/contacts/999999", {"name": "U"}, 404, "not_a_contact"),
            ("non-numeric id", "/contacts/bob", {"name": "U"}, 404, "not_a_contact"),
        ]
        for what, path, body, status, code in cases:
            with self.subTest(what):
                self.assertError(self.api("PATCH", path, body, alice), status, code)
        self.assertContact(self.contacts(alice)[0], bob, "Bob")

    def test_delete_keeps_the_conversation_and_its_messages(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob, "Bobby")
        conversation = self.open_conversation(alice, bob, status=201)
        self.assertEqual(conversation["title"], "Bobby")
        self.assertContact(self.contacts(alice)[0], bob, "Bobby", conversation["id"])
        chat = self.chat(alice)
        sent = [chat.send(f"hello {n}", conversation_id=conversation["id"])["message"]
                for n in range(3)]

        response = self.api("DELETE", f"/contacts/{bob.id}", user=alice)
        self.assertEqual(response.status, 204, response)
        self.assertEqual(response.body, b"")
        self.assertEqual(self.contacts(alice), [])
        self.assertEqual(self.full_history(alice, conversation["id"]), sent)
        self.assertEqual(self.full_history(bob, conversation["id"]), sent)
        listed = self.conversations(alice)
        self.assertEqual([c["id"] for c in listed], [conversation["id"]])
        self.assertEqual(listed[0]["title"], "Bob", "no nickname any more: the person's own name")
        # The conversation still works, and is found again as the direct one.
        again = self.open_conversation(alice, bob, status=200)
        self.assertEqual(again["id"], conversation["id"])
        self.assertSent(chat.send("still here", to=bob.id), conversation_id=conversation["id"])

        self.assertError(self.api("DELETE", f"/contacts/{bob.id}", user=alice), 404, "not_a_contact")
        # Added again: the contact finds its conversation.
        self.assertContact(self.add_contact(alice, bob), bob, "Bob", conversation["id"])

    def test_delete_errors(self):
        alice, bob = self.users("Alice", "Bob")
        for what, path in (
            ("not a contact", f"/contacts/{bob.id}"),
            ("oneself", f"/contacts/{alice.id}"),
            ("unknown user", "/contacts/999999"),
            ("non-numeric id", "/contacts/abc"),
            ("negative id", "/contacts/-1"),
        ):
            with self.subTest(what):
                self.assertError(self.api("DELETE", path, user=alice), 404, "not_a_contact")

    def test_contact_conversation_id_follows_the_direct_conversation(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.add_contact(alice, bob)
        self.add_contact(alice, carol)
        self.add_contact(bob, alice, "Ally")
        # A group is not the direct conversation.
        self.open_conversation(alice, bob, carol, title="Trio", status=201)
        for contact in self.contacts(alice):
            self.assertIsNone(contact["conversation_id"], contact)
        direct = self.open_conversation(alice, bob, status=201)
        by_user = {c["user"]["id"]: c for c in self.contacts(alice)}
        self.assertEqual(by_user[bob.id]["conversation_id"], direct["id"])
        self.assertIsNone(by_user[carol.id]["conversation_id"])
        self.assertContact(self.contacts(bob)[0], alice, "Ally", direct["id"])


class ContactAuthorizationTest(RestCase):
    def test_one_user_cannot_touch_anothers_contact_list(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.add_contact(bob, carol, "Caz")
        # Carol is in Bob's list, not in Alice's: Alice's requests are about her own list.
        self.assertError(self.api("PATCH", f"/contacts/{carol.id}", {"name": "Hacked"}, alice),
                         404, "not_a_contact")
        self.assertError(self.api("DELETE", f"/contacts/{carol.id}", user=alice), 404,
                         "not_a_contact")
        self.assertEqual(self.contacts(alice), [])
        self.assertContact(self.contacts(bob)[0], carol, "Caz")
        # Alice adding Carol herself is a new entry of Alice's, with its own nickname.
        self.assertContact(self.add_contact(alice, carol), carol, "Carol")
        self.assertContact(self.contacts(bob)[0], carol, "Caz")

    def test_no_or_bad_token_is_401_on_every_endpoint(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(alice, bob)
        conversation = self.open_conversation(alice, bob)
        endpoints = [
            ("GET", "/contacts", None),
            ("POST", "/contacts", {"phone": bob.phone}),
            ("POST", "/contacts", {"bad": "body"}),
            ("PATCH", f"/contacts/{bob.id}", {"name": "X"}),
            ("PATCH", "/contacts/abc", None),
            ("DELETE", f"/contacts/{bob.id}", None),
            ("GET", "/conversations", None),
            ("POST", "/conversations", {"members": [bob.id]}),
            ("POST", "/conversations", {"members": "bad"}),
            ("GET", f"/conversations/{conversation['id']}/messages", None),
            ("GET", f"/conversations/{conversation['id']}/messages?limit=0", None),
            ("GET", "/conversations/999999/messages", None),
            ("GET", "/conversations/abc/messages", None),
        ]
        for method, path, body in endpoints:
            for what, token in (("no token", None), ("unknown token", "not-a-token"),
                                ("altered token", alice.token[:-1] + ("B" if alice.token[-1] == "A" else "A"))):
                with self.subTest(method=method, path=path, token=what):
                    self.assertError(self.api(method, path, body, token=token), 401, "unauthorized")
        # Nothing changed.
        self.assertContact(self.contacts(alice)[0], bob, "Bob", conversation["id"])
        self.assertEqual([c["id"] for c in self.conversations(alice)], [conversation["id"]])

    def test_cookie_writes_need_an_allowed_origin(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        evil = {"Origin": "http://evil.example"}
        own = {"Origin": self.server.origin}
        writes = [
            ("POST", "/contacts", {"phone": bob.phone}),
            ("PATCH", f"/contacts/{bob.id}", {"name": "B"}),
            ("DELETE", f"/contacts/{bob.id}", None),
            ("POST", "/conversations", {"members": [bob.id]}),
            ("POST", "/conversations", {"members": [bob.id, carol.id], "title": "G"}),
        ]
        for method, path, body in writes:
            for what, options in (("cookie, no Origin", {"cookie": alice.token}),
                                  ("cookie, foreign Origin", {"cookie": alice.token, "headers": evil}),
                                  ("bearer, foreign Origin", {"token": alice.token, "headers": evil})):
                with self.subTest(method=method, path=path, case=what):
                    response = self.server.request(method, "/api/v1" + path, body=body, **options)
                    self.assertError(response, 403, "forbidden_origin")
        self.assertEqual(self.contacts(alice), [])
        self.assertEqual(self.conversations(alice), [])
        # From the server's own origin the cookie works; reads need no Origin.
        response = self.server.request("POST", "/api/v1/contacts", body={"phone": bob.phone},
                                       cookie=alice.token, headers=own)
        self.assertEqual(response.status, 201, response)
        response = self.server.request("POST", "/api/v1/conversations", body={"members": [bob.id]},
                                       cookie=alice.token, headers=own)
        self.assertEqual(response.status, 201, response)
        response = self.server.request("GET", "/api/v1/contacts", cookie=alice.token)
        self.assertEqual(response.status, 200, response)
        self.assertContact(response.json()["contacts"][0], bob, "Bob",
                           self.conversations(alice)[0]["id"])

    def test_logged_out_token_is_401(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.open_conversation(alice, bob, status=201)
        self.chat(alice).send("before logout", conversation_id=conversation["id"])
        history = f"/conversations/{conversation['id']}/messages"
        self.assertEqual(len(self.history_page(alice, conversation["id"])["messages"]), 1)
        self.assertEqual(self.api("POST", "/auth/logout", user=alice).status, 204)
        self.assertError(self.api("GET", "/contacts", user=alice), 401, "unauthorized")
        self.assertError(self.api("GET", "/conversations", user=alice), 401, "unauthorized")
        for query in ("", "?limit=10", "?limit=0", "?before=abc"):
            with self.subTest(query):
                self.assertError(self.api("GET", history + query, user=alice), 401,
                                 "unauthorized")
        self.assertError(self.api("POST", "/contacts", {"phone": bob.phone}, alice), 401,
                         "unauthorized")


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


class RaceTest(RestCase):
    def test_concurrent_creation_of_one_direct_conversation(self):
        alice, bob = self.users("Alice", "Bob")
        alices, bobs = self.chat(alice), self.chat(bob)
        calls = []
        for n in range(6):
            calls.append(lambda: self.api("POST", "/conversations", {"members": [bob.id]}, alice))
            calls.append(lambda: self.api("POST", "/conversations", {"members": [alice.id]}, bob))
        calls.append(lambda: alices.send("from Alice", to=bob.id))
        calls.append(lambda: bobs.send("from Bob", to=alice.id))
        with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
            results = list(pool.map(lambda call: call(), calls))
        responses, acks = results[:-2], results[-2:]
        ids = set()
        for response in responses:
            self.assertIn(response.status, (200, 201), response)
            ids.add(response.json()["conversation"]["id"])
        for ack in acks:
            ids.add(self.assertSent(ack)["conversation_id"])
        self.assertEqual(len(ids), 1, "one direct conversation for one pair")
        self.assertLessEqual(sum(1 for r in responses if r.status == 201), 1, "created once")
        self.assertEqual([c["id"] for c in self.conversations(alice)], list(ids))
        self.assertEqual([c["id"] for c in self.conversations(bob)], list(ids))
        history = self.full_history(alice, ids.pop())
        self.assertEqual([message["seq"] for message in history], [1, 2], "one log, no gap")

    def test_concurrent_adds_of_one_contact(self):
        alice, bob = self.users("Alice", "Bob")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(
                lambda n: self.api("POST", "/contacts", {"phone": bob.phone, "name": f"B{n}"}, alice),
                range(8)))
        self.assertEqual(sorted(r.status for r in responses), [201] + [409] * 7, responses)
        for response in responses:
            if response.status == 409:
                self.assertError(response, 409, "already_contact")
        created = next(r for r in responses if r.status == 201).json()["contact"]
        self.assertEqual(self.contacts(alice), [created])


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
