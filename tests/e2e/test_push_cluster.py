"""Web Push with two nodes (API.md "Notifications (v2)"): two `parley serve` nodes on one
PostgreSQL schema of the `services` fixture with the Redis bus between them (see
test_cluster_bus). Both publish the one VAPID key the first of them stored; a message is pushed
once, by the node that committed it, not once per node; and a member with a socket on the other
node counts as online (no push). Nothing sleeps: pushes are waited for on the fake push
service, and their absence is proven behind barriers (push_support).
"""

import unittest

from log_support import run_together
from parley_harness import drop_postgres_schema, new_postgres_schema
from push_support import PUSH_FLAGS, PushCase
from test_cluster_bus import ClusterCase


class CrossNodePushTest(ClusterCase, PushCase):
    def setUp(self):
        super().setUp()
        self.start_cluster(flags=("--message-rate", "0") + PUSH_FLAGS)

    def test_both_nodes_publish_one_key(self):
        key = self.push_key(self.n1)
        self.assertEqual(self.push_key(self.n2), key)
        self.assertEqual(self.push_key(self.n1), key)

    def test_nodes_starting_together_on_a_new_database_agree_on_the_key(self):
        postgres_url, schema = new_postgres_schema()
        self.addCleanup(drop_postgres_schema, schema)
        nodes = run_together(*[
            lambda node=node: self.start_server("--node-id", node, *PUSH_FLAGS,
                                                database=postgres_url)
            for node in ("n3", "n4", "n5")])
        keys = [self.push_key(node) for node in nodes]
        self.assertEqual(keys, [keys[0]] * 3)

    def test_a_message_is_pushed_once_by_the_node_that_committed_it(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        dave = self.user("Dave", server=self.n1)
        browser = self.subscriber(bob, server=self.n2)  # subscribed through node 2
        group = self.open_conversation(alice, bob, dave, title="Team", status=201)["id"]
        # Dave listens on both nodes: once his socket on a node has a message, that node has
        # heard of it (from its own commit, or from the bus).
        on_n1, on_n2 = self.chat(dave, server=self.n1), self.chat(dave, server=self.n2)
        a1, a2 = self.chat(alice, server=self.n1), self.chat(alice, server=self.n2)

        sent = []
        for socket, text in ((a1, "from node 1"), (a2, "from node 2")):
            message = self.send(socket, group, text)
            self.assertPushOf(self.wait_message_push(browser, message), message, "Team",
                              f"Alice: {text}")
            for listener in (on_n1, on_n2):
                listener.wait_for("message", lambda m, wanted=message["id"]: m["id"] == wanted)
            sent.append(message["id"])
        for node in (self.n1, self.n2):
            self.barrier(node)
        self.assertEqual(self.pushed_ids(browser), sent)
        self.assertEqual(len(self.requests_to(browser)), 2)

    def test_a_socket_on_the_other_node_counts_as_online(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n1)
        carol = self.user("Carol", server=self.n1)
        self.add_contact(alice, bob)  # so that Alice hears when Bob comes online
        bobs, carols = self.subscriber(bob), self.subscriber(carol)
        group = self.open_conversation(alice, bob, carol, title="Team", status=201)["id"]
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2)
        # Node 2 has told the cluster: node 1 announces Bob's arrival.
        a.wait_for("presence", lambda p: p["user_id"] == bob.id and p["online"] is True)

        message = self.send(a, group, "who is here?")
        self.wait_message_push(carols, message)
        b.wait_for("message", lambda m: m["id"] == message["id"])
        self.barrier(self.n1)
        self.assertEqual(self.requests_to(bobs), [])

    def test_a_subscription_made_through_one_node_is_heard_of_on_the_other(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n1)
        carol = self.user("Carol", server=self.n1)
        dave = self.user("Dave", server=self.n1)
        group = self.open_conversation(alice, bob, carol, dave, title="Team", status=201)["id"]
        a1, c2 = self.chat(alice, server=self.n1), self.chat(carol, server=self.n2)
        d1 = self.chat(dave, server=self.n1)
        self.send(a1, group, "before")  # Bob: offline, no subscription anywhere
        self.barrier(self.n1)  # planned: node 1 has found Bob without one

        browser = self.subscriber(bob, server=self.n2)
        # Node 2 publishes the word of it before Carol's message: once Dave's socket on node 1
        # has that message, node 1 has heard of the subscription.
        from_n2 = self.send(c2, group, "through node 2")
        d1.wait_for("message", lambda m: m["id"] == from_n2["id"])
        from_n1 = self.send(a1, group, "through node 1")
        for message, text in ((from_n2, "Carol: through node 2"), (from_n1, "Alice: through node 1")):
            self.assertPushOf(self.wait_message_push(browser, message), message, "Team", text)
        for node in (self.n1, self.n2):
            self.barrier(node)
        self.assertEqual(sorted(self.pushed_ids(browser)), sorted([from_n2["id"], from_n1["id"]]))


if __name__ == "__main__":
    unittest.main()
