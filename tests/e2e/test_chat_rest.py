"""The chat's REST API for contacts (the contract's "Contacts" section, with the choices of
docs/api.md): adding, listing, renaming and deleting contacts, bad input, authorization on
every endpoint, and concurrent creations. Conversations and history: test_chat_conversations.
"""

import concurrent.futures
import unittest

from rest_support import RestCase


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


if __name__ == "__main__":
    unittest.main()
