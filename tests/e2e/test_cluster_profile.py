"""Profile changes across nodes: `user:updated` (docs/api.md) crosses the Redis bus like
presence and receipts do, so a contact or a fellow member connected to the other node hears of
a new name, and so do the user's own sockets there. Two `parley serve` nodes on one PostgreSQL
schema of the `services` fixture (see test_cluster_bus). Nothing sleeps: each wait is an event
queue bounded by the harness TIMEOUT.
"""

import unittest

from chat_support import public_user
from test_cluster_bus import ClusterCase


class CrossNodeProfileTest(ClusterCase):
    def setUp(self):
        super().setUp()
        self.start_cluster()

    def test_a_new_name_reaches_contacts_members_and_own_sockets_on_the_other_node(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        carol = self.user("Carol", server=self.n2)
        self.add_contact(bob, alice)
        self.open_conversation(carol, alice, bob, title="Team", status=201)
        a1 = self.chat(alice, server=self.n1)
        a2 = self.chat(alice, server=self.n2)
        b = self.chat(bob, server=self.n2, transports=("polling",))
        c = self.chat(carol, server=self.n1)

        response = self.n1.request("PATCH", "/api/v1/me", {"name": "Alicia"}, token=alice.token)
        self.assertEqual(response.status, 200, response)
        user = public_user(response.json()["user"])  # as the others are told of it
        self.assertEqual(user["name"], "Alicia")
        for socket in (a1, a2, b, c):
            self.assertEqual(socket.next_payload("user:updated"), {"user": user})

        # And the other way round: a change made on node 2.
        response = self.n2.request("PATCH", "/api/v1/me", {"name": "Bobby"}, token=bob.token)
        self.assertEqual(response.status, 200, response)
        bobby = public_user(response.json()["user"])
        for socket in (b, a1, c):  # Bob himself, and both who share the group with him
            self.assertEqual(socket.next_payload("user:updated"), {"user": bobby})


if __name__ == "__main__":
    unittest.main()
