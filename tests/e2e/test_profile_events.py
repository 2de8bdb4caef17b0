"""Profile changes live (docs/api.md "user:updated"): after `PATCH /api/v1/me {"name"}` the
server sends `user:updated {"user": user object}` to every socket of everyone who has the user
as a contact or shares a conversation with them, and to the user's own sockets; nobody else
hears of it, and a change that changes nothing is not announced. The same after
`PUT`/`DELETE /api/v1/me/avatar`. Also the user object's `avatar_url` (the picture's
thumbnail, null without one) wherever users are shown.

Nothing sleeps. `PATCH /api/v1/me` answers once the event is handed to the sockets' executors,
so "receives nothing" is proven with log_support's flush: a direct message sent to the socket
after the answer arrives behind anything that was sent to it before.
"""

import unittest

from chat_support import OWN_USER_FIELDS, USER_FIELDS, public_user
from image_support import png
from log_support import LogCase


class ProfileEventsTest(LogCase):
    def rename_me(self, user, name):
        response = self.api("PATCH", "/me", {"name": name}, user)
        self.assertEqual(response.status, 200, response)
        body = response.json()
        self.assertEqual(set(body), {"user"}, body)
        self.assertEqual(set(body["user"]), OWN_USER_FIELDS, body)
        return public_user(body["user"])  # as the others are told of it

    def assertUserUpdated(self, payload, user):
        self.assertEqual(set(payload), {"user"}, payload)
        self.assertEqual(set(payload["user"]), USER_FIELDS, payload)
        self.assertEqual(payload["user"], user, payload)

    def assertNoProfileEvent(self, chat, user):
        self.flush(chat, user)
        self.assertEqual(chat.payloads("user:updated"), [], user)

    def test_contacts_group_members_and_own_sockets_hear_of_a_new_name(self):
        alice, bob, carol, dave, erin, frank = self.users("Alice", "Bob", "Carol", "Dave", "Erin",
                                                          "Frank")
        # Bob has Alice as a contact (no conversation with her); Carol shares a group with her;
        # Frank a direct conversation; Alice has Erin as a contact, but not the other way round;
        # Dave has nothing to do with her.
        self.add_contact(bob, alice, "Ally")
        self.add_contact(alice, erin)
        group = self.group(carol, alice, dave, title="Team")["id"]
        frank_socket = self.chat(frank)
        self.ok(frank_socket.ack("message:send", self.send_payload(None, "hi", to=alice.id)))
        self.assertEqual(self.remove_member(carol, group, dave).status, 204)  # not any more
        a1, a2, b, c, d, e = (self.chat(alice), self.chat(alice), self.chat(bob), self.chat(carol),
                              self.chat(dave), self.chat(erin))

        user = self.rename_me(alice, "  Alicia  ")
        self.assertEqual(user, {"id": alice.id, "name": "Alicia", "phone": alice.phone,
                                "avatar_url": None})
        for socket in (a1, a2, b, c, frank_socket):
            self.assertUserUpdated(socket.next_payload("user:updated"), user)
        self.assertNoProfileEvent(d, dave)
        self.assertNoProfileEvent(e, erin)

        # What they read afterwards agrees: Bob's nickname stays his own, the person's name
        # changed; Carol's group shows the new name.
        [contact] = self.contacts(bob)
        self.assertEqual((contact["name"], contact["user"]), ("Ally", user))
        members = self.members_of(self.conversation_of(carol, group))
        self.assertEqual({key: members[alice.id][key] for key in USER_FIELDS}, user)
        self.assertEqual(self.api("GET", "/me", user=alice).json(),
                         {"user": dict(user, notification_previews=True)})

        # Exactly one event each, and none for the rest.
        for socket, person in ((a1, alice), (a2, alice), (b, bob), (c, carol)):
            self.flush(socket, person)
            self.assertEqual(socket.payloads("user:updated"), [{"user": user}], person)

    def test_the_same_name_or_a_refused_one_is_not_announced(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(bob, alice)
        b = self.chat(bob)
        a = self.chat(alice)
        self.assertEqual(self.rename_me(alice, "Alice")["name"], "Alice")
        self.assertEqual(self.rename_me(alice, " Alice ")["name"], "Alice")
        for name in ("", "   ", "x" * 65, None, 5):
            self.assertError(self.api("PATCH", "/me", {"name": name}, alice), 400)
        self.assertNoProfileEvent(b, bob)
        self.assertNoProfileEvent(a, alice)
        # A real change afterwards is announced once.
        user = self.rename_me(alice, "Alice B.")
        self.assertUserUpdated(b.next_payload("user:updated"), user)
        self.assertUserUpdated(a.next_payload("user:updated"), user)

    def test_each_change_in_order(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.group(alice, bob, carol, title="Team")
        b, c = self.chat(bob), self.chat(carol)
        names = [f"Alice {n}" for n in range(5)]
        users = [self.rename_me(alice, name) for name in names]
        for socket in (b, c):
            self.assertEqual([socket.next_payload("user:updated")["user"] for _ in names], users)

    def test_a_new_or_removed_picture_is_announced(self):
        alice, bob = self.users("Alice", "Bob")
        self.add_contact(bob, alice)
        a, b = self.chat(alice), self.chat(bob)
        response = self.server.request("PUT", "/api/v1/me/avatar", body=png(8, 6),
                                       token=alice.token, headers={"Content-Type": "image/png"})
        self.assertEqual(response.status, 200, response)
        own = response.json()["user"]
        self.assertEqual(set(own), OWN_USER_FIELDS, own)
        user = public_user(own)
        self.assertRegex(user["avatar_url"], r"^/media/[1-9][0-9]*/thumbnail$")
        self.assertEqual(user, dict(alice.user, avatar_url=user["avatar_url"]))
        for socket in (a, b):
            self.assertUserUpdated(socket.next_payload("user:updated"), user)
        [contact] = self.contacts(bob)
        self.assertEqual(contact["user"], user)
        self.assertEqual(self.server.get(user["avatar_url"], token=bob.token).status, 200)

        response = self.server.request("DELETE", "/api/v1/me/avatar", token=alice.token)
        self.assertEqual(response.status, 204, response)
        for socket in (a, b):
            self.assertUserUpdated(socket.next_payload("user:updated"), alice.user)
        self.assertIsNone(self.api("GET", "/me", user=alice).json()["user"]["avatar_url"])

    def test_users_carry_avatar_url_everywhere(self):
        alice, bob = self.users("Alice", "Bob")
        me = self.api("GET", "/me", user=alice).json()["user"]
        self.assertEqual(set(me), OWN_USER_FIELDS, me)
        for shown in (alice.user, bob.user, me):
            self.assertTrue(USER_FIELDS <= set(shown), shown)
            self.assertIsNone(shown["avatar_url"], shown)
        contact = self.add_contact(alice, bob)
        self.assertIsNone(contact["user"]["avatar_url"])
        group = self.group(alice, bob, self.user("Carol"))
        for member in group["members"]:
            self.assertIsNone(member["avatar_url"], member)


if __name__ == "__main__":
    unittest.main()
