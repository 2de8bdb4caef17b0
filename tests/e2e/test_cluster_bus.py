"""Two nodes on one PostgreSQL database with the Redis bus between them: what one user does on
one node reaches the people on the other, live, in seq order, once; and what Redis loses while
it is away is read back from PostgreSQL.

Each test starts two ``parley serve`` nodes (``--node-id n1/n2 --bus redis://…``) on a
database of their own: a schema in the ``services`` fixture's PostgreSQL, or, for the tests
that stop or kill Redis or PostgreSQL, servers of the test's own (tests/e2e/services.py).
"""

import re
import subprocess
import threading
import unittest

from chat_client import WindowedStream, message_payload
from chat_support import ChatCase
from parley_harness import drop_postgres_schema, new_postgres_schema
from services import TestServices, shared

BUS_READY = r"\bbus\.ready node="


class ClusterCase(ChatCase):
    flags = None  # the test starts its nodes
    transports = ("websocket",)

    def start_cluster(self, postgres_url=None, redis_url=None, n1_env=None, flags=()):
        if postgres_url is None:
            postgres_url, schema = new_postgres_schema()
            self.addCleanup(drop_postgres_schema, schema)
        if redis_url is None:
            redis_url = shared()[1]
        self.redis_url = redis_url
        self.n1 = self.start_server("--node-id", "n1", "--bus", redis_url, *flags,
                                    database=postgres_url, env=n1_env)
        self.n2 = self.start_server("--node-id", "n2", "--bus", redis_url, *flags,
                                    database=postgres_url)
        for node in (self.n1, self.n2):
            node.wait_for_log(BUS_READY)
        self.server = self.n1  # REST helpers default to node 1

    @staticmethod
    def metric(node, name):
        response = node.request("GET", "/metrics")
        match = re.search(rf"^{name} (\S+)$", response.body.decode(), re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    @staticmethod
    def wait_bus_ready(node, count):
        """Waits until ``node`` has logged its ``count``-th bus.ready (a resubscription)."""
        start = 0
        for _ in range(count):
            node.wait_for_log(BUS_READY, start)
            with node.lock:
                start = next(index for index in range(start, len(node.lines))
                             if re.search(BUS_READY, node.lines[index])) + 1

    def redis_cli(self, *arguments):
        match = re.match(r"redis://([^:/]+):(\d+)", self.redis_url)
        return subprocess.run(["redis-cli", "-h", match.group(1), "-p", match.group(2),
                               *arguments], check=True, capture_output=True, text=True,
                              timeout=60).stdout


class CrossNodeChatTest(ClusterCase):
    def setUp(self):
        super().setUp()
        self.start_cluster()

    def test_direct_chat_receipts_typing_edits_reactions_and_deletes_cross_nodes(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)  # a token from node 2 works on node 1 too
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2, transports=("polling",))
        self.assertEqual(self.api("GET", "/me", user=bob).status, 200)

        ack = a.send("hello from node 1", to=bob.id)
        message = self.assertSent(ack, body="hello from node 1")
        conversation = message["conversation_id"]
        self.assertEqual(b.next_payload("message"), message)
        # Bob's client acknowledged it on node 2: the delivered receipt comes back to node 1.
        a.wait_for("receipt", lambda r: (r["user_id"], r["kind"], r["up_to"])
                   == (bob.id, "delivered", message["id"]))

        self.assertTrue(b.call("message:read", {"conversation_id": conversation,
                                                "up_to": message["id"]})[0]["ok"])
        a.wait_for("receipt", lambda r: (r["user_id"], r["kind"], r["up_to"])
                   == (bob.id, "read", message["id"]))
        reply = self.assertSent(b.send("hello from node 2", conversation_id=conversation))
        self.assertEqual(a.next_payload("message"), reply)

        b.emit("typing", {"conversation_id": conversation, "typing": True})
        self.assertEqual(a.next_payload("typing"),
                         {"conversation_id": conversation, "user_id": bob.id, "typing": True})

        edited = a.call("message:edit", {"message_id": message["id"], "body": "hello, node 2"})[0]
        self.assertTrue(edited["ok"], edited)
        self.assertEqual(b.next_payload("message:updated"), edited["message"])
        reacted = b.call("reaction:set", {"message_id": message["id"], "emoji": "👍"})[0]
        self.assertTrue(reacted["ok"], reacted)
        self.assertEqual(a.next_payload("message:updated"), reacted["message"])
        deleted = a.call("message:delete", {"message_id": message["id"]})[0]
        self.assertTrue(deleted["ok"], deleted)
        self.assertIs(deleted["message"]["deleted"], True)
        self.assertEqual(b.next_payload("message:updated"), deleted["message"])
        # No seq twice on either node (order and gaps: OvertakenPublishTest).
        for chat in (a, b):
            seqs = [payload["updated_seq"] for payload in
                    chat.payloads("message") + chat.payloads("message:updated")]
            self.assertEqual(len(seqs), len(set(seqs)), seqs)

    def test_group_changes_cross_nodes_and_a_removed_member_hears_nothing_more(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        carol = self.user("Carol", server=self.n2)
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2)
        c = self.chat(carol, server=self.n2)
        group = self.open_conversation(alice, bob, carol, title="Trip")
        for chat in (b, c):
            self.assertEqual(chat.next_payload("conversation")["title"], "Trip")
        response = self.n2.request("PATCH", f"/api/v1/conversations/{group['id']}",
                                   body={"title": "Trip 2"}, token=alice.token)
        self.assertEqual(response.status, 200, response)
        a.wait_for("conversation", lambda view: view["title"] == "Trip 2")
        response = self.n1.request("DELETE", f"/api/v1/conversations/{group['id']}/members/"
                                   f"{carol.id}", token=alice.token)
        self.assertIn(response.status, (200, 204), response)
        self.assertEqual(c.next_payload("conversation:left"), {"conversation_id": group["id"]})
        sent = self.assertSent(a.send("after Carol left", conversation_id=group["id"]))
        self.assertEqual(b.next_payload("message"), sent)
        self.assertEqual(c.count("message"), 0)

    def test_logout_on_one_node_disconnects_the_session_on_the_other(self):
        alice = self.user("Alice", server=self.n1)
        on_n2 = self.chat(alice, server=self.n2)
        response = self.n1.request("POST", "/api/v1/auth/logout", token=alice.token)
        self.assertIn(response.status, (200, 204), response)
        self.assertTrue(on_n2.disconnected.wait(60), "node 2 kept the logged-out session's socket")


class ForgottenConversationTest(ClusterCase):
    """A node keeps the last delivered seq of a conversation only while its changes concern
    someone there (else every node would keep one for every conversation of the cluster), and
    forgets it when the last of its members there leaves; a member who arrives later still
    gets every change, in order."""

    def setUp(self):
        super().setUp()
        self.start_cluster(flags=("--log-level", "debug"))  # relay.departed

    def test_a_node_forgets_conversations_nobody_there_is_in(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n1)
        carol = self.user("Carol", server=self.n2)
        a = self.chat(alice, server=self.n1)
        c = self.chat(carol, server=self.n2)
        # Alice and Bob's conversation: nobody of it is on node 2.
        quiet = self.assertSent(a.send("one", to=bob.id))["conversation_id"]
        self.assertSent(a.send("two", conversation_id=quiet))
        # Alice and Carol's. Node 2 applies what comes over the bus in the order node 1
        # published it: once Carol has this, node 2 has had the two above.
        witness = self.assertSent(a.send("hello", to=carol.id))
        self.assertEqual(c.next_payload("message")["id"], witness["id"])
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 1)
        self.assertEqual(self.metric(self.n1, "parley_bus_tracked_conversations"), 2)
        # Bob arrives on node 2: what follows reaches him live, every message in order.
        b = self.chat(bob, server=self.n2)
        later = [self.assertSent(a.send(f"m{index}", conversation_id=quiet)) for index in range(3)]
        self.assertEqual([b.next_payload("message")["id"] for _ in later],
                         [message["id"] for message in later])
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 2)

    def test_a_node_forgets_a_conversation_when_its_last_member_there_leaves(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n1)
        carol = self.user("Carol", server=self.n1)
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2)
        c = self.chat(carol, server=self.n2)
        group = self.open_conversation(alice, bob, carol, title="Three", status=201)["id"]
        first = self.assertSent(a.send("one", conversation_id=group))
        for chat in (b, c):
            self.assertEqual(chat.next_payload("message")["id"], first["id"])
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 1)
        # Carol is still there: kept.
        b.disconnect()
        self.n2.wait_for_log(rf"\brelay\.departed user={bob.id} forgot=0\b")
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 1)
        # The last of them: forgotten, with no change of the conversation to wait for.
        c.disconnect()
        self.n2.wait_for_log(rf"\brelay\.departed user={carol.id} forgot=1\b")
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 0)
        # Bob comes back: what follows reaches him live, in order, from the next seq on.
        b = self.chat(bob, server=self.n2)
        later = [self.assertSent(a.send(f"m{index}", conversation_id=group)) for index in range(3)]
        self.assertEqual([b.next_payload("message")["id"] for _ in later],
                         [message["id"] for message in later])
        self.assertEqual(self.metric(self.n2, "parley_bus_tracked_conversations"), 1)


class ClusterPresenceTest(ClusterCase):
    def setUp(self):
        super().setUp()
        self.start_cluster(flags=("--log-level", "debug"))  # presence.arrived / presence.left

    def presence_of(self, chat, user):
        return [p["online"] for p in chat.payloads("presence") if p["user_id"] == user.id]

    def test_a_user_is_online_while_on_any_node(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        self.add_contact(bob, alice)
        b = self.chat(bob, server=self.n2)
        on_n1 = self.chat(alice, server=self.n1)
        b.wait_for("presence", lambda p: (p["user_id"], p["online"]) == (alice.id, True))
        on_n2 = self.chat(alice, server=self.n2)  # her second node: no news
        self.n2.wait_for_log(rf"\bpresence\.arrived node=n2 user={alice.id} nodes=2\b")
        on_n1.disconnect()  # still on node 2: still online
        self.n1.wait_for_log(rf"\bpresence\.left node=n1 user={alice.id} nodes=1\b")
        contacts = self.n2.request("GET", "/api/v1/contacts", token=bob.token).json()["contacts"]
        self.assertEqual([c["online"] for c in contacts if c["user"]["id"] == alice.id], [True])
        on_n2.disconnect()
        b.wait_for("presence", lambda p: (p["user_id"], p["online"]) == (alice.id, False))
        self.assertEqual(self.presence_of(b, alice), [True, False])

    def test_a_killed_nodes_users_go_offline_unless_on_another_node(self):
        alice = self.user("Alice", server=self.n1)  # only on node 1
        carol = self.user("Carol", server=self.n1)  # on both nodes
        bob = self.user("Bob", server=self.n2)
        for person in (alice, carol):
            self.add_contact(bob, person)
        b = self.chat(bob, server=self.n2)
        self.chat(alice, server=self.n1)
        self.chat(carol, server=self.n1)
        self.n1.wait_for_log(rf"\bpresence\.arrived node=n1 user={carol.id} nodes=1\b")
        self.chat(carol, server=self.n2)
        self.n2.wait_for_log(rf"\bpresence\.arrived node=n2 user={carol.id} nodes=2\b")
        with b.condition:  # both online, in whichever order
            b.condition.wait_for(lambda: self.presence_of(b, alice) == [True]
                                 and self.presence_of(b, carol) == [True], 60)
        self.assertEqual((self.presence_of(b, alice), self.presence_of(b, carol)), ([True], [True]))
        self.n1.kill()  # SIGKILL: no goodbye; its lease lapses (10 s) and a sweep takes it off
        b.wait_for("presence", lambda p: (p["user_id"], p["online"]) == (alice.id, False),
                   timeout=60)
        self.assertEqual(self.presence_of(b, carol), [True])  # the same sweep left her on


class NodeKilledWhileSendingTest(ClusterCase):
    def test_every_acknowledged_message_is_stored_once_and_the_other_node_serves_it(self):
        self.start_cluster()
        self.kill_node_1_while_alice_sends()

    def test_messages_acknowledged_but_never_published_reach_the_other_node(self):
        # Node 1 holds each publish back (the tests' fault hook), so when it is killed it has
        # acknowledged messages that it never published: node 2 reads them once node 1's lease
        # lapses and the sweep reports a departure.
        self.start_cluster(n1_env={"PARLEY_TEST_PUBLISH_DELAY_MS": "300"})
        self.kill_node_1_while_alice_sends()
        self.assertGreaterEqual(self.metric(self.n2, "parley_bus_resynchronisations_total"), 1)

    def kill_node_1_while_alice_sends(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        b = self.chat(bob, server=self.n2)
        first = self.assertSent(self.chat(alice, server=self.n2).send("hi", to=bob.id))
        conversation = first["conversation_id"]
        a = self.chat(alice, server=self.n1)
        acked = []

        class Recording(WindowedStream):
            def answered(self, index, payload, ack):
                if isinstance(ack, dict) and ack.get("ok"):
                    acked.append(ack["message"])

        calls = (("message:send", message_payload(f"m{i}", conversation_id=conversation))
                 for i in range(100000))
        self.server = self.n1
        self.kill_while_streaming(lambda on_ack: [Recording(a, calls, 8, on_ack)], 30)
        # Node 2 serves the conversation: every acknowledged message once.
        self.server = self.n2
        history = self.full_history(alice, conversation)
        ids = [message["id"] for message in history]
        self.assertEqual(len(ids), len(set(ids)), "a message stored twice")
        stored = {message["id"]: message for message in history}
        for message in acked:
            self.assertIn(message["id"], stored)
            self.assertEqual(stored[message["id"]]["body"], message["body"])
        # Alice reconnects to node 2 and syncs to the present; Bob got every acked message live.
        again = self.chat(alice, server=self.n2)
        synced = {message["id"] for message in self.sync_to_present(again, {conversation: 0})[0]}
        self.assertLessEqual({message["id"] for message in acked}, synced)
        self.assertReceivedAll(b, acked)

    def assertReceivedAll(self, chat, sent):
        wanted = {message["id"] for message in sent}
        with chat.condition:
            arrived = chat.condition.wait_for(lambda: wanted <= {
                args[0]["id"] for event, args, _ in chat.events if event == "message"}, 60)
        self.assertTrue(arrived)


class OvertakenPublishTest(ClusterCase):
    """Node 1 holds each publish back (the tests' fault hook) while node 2 writes to the same
    group: node 2 commits later seqs whose publishes overtake node 1's."""

    def test_no_socket_applies_a_seq_out_of_order_or_skips_one(self):
        self.start_cluster(n1_env={"PARLEY_TEST_PUBLISH_DELAY_MS": "500"})
        alice, dave = self.user("Alice", server=self.n1), self.user("Dave", server=self.n1)
        bob, carol = self.user("Bob", server=self.n2), self.user("Carol", server=self.n2)
        a, d = self.chat(alice, server=self.n1), self.chat(dave, server=self.n1)
        b, c = self.chat(bob, server=self.n2), self.chat(carol, server=self.n2)
        group = self.open_conversation(alice, bob, carol, dave, title="Race")
        for chat in (b, c, d):
            chat.next_payload("conversation")
        # First, one overtaking for sure: Bob's message commits on node 2 while Alice's, the
        # seq before, is still held back on node 1. Node 2 reads it from PostgreSQL, then drops
        # the late publish.
        first = self.assertSent(a.send("first", conversation_id=group["id"]))
        second = self.assertSent(b.send("second", conversation_id=group["id"]))
        self.assertEqual(second["seq"], first["seq"] + 1)
        self.assertEqual([m["seq"] for m in (c.next_payload("message"), c.next_payload("message"))],
                         [first["seq"], second["seq"]])
        self.assertGreaterEqual(self.metric(self.n2, "parley_bus_gap_reads_total"), 1)
        rounds = 15
        sent = {"a": [first], "b": [second]}

        def writer(name, chat):
            for index in range(rounds):
                ack = chat.send(f"{name}{index}", conversation_id=group["id"])
                sent[name].append(ack["message"])

        threads = [threading.Thread(target=writer, args=("a", a)),
                   threading.Thread(target=writer, args=("b", b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        all_sent = sent["a"] + sent["b"]
        self.assertEqual(len(all_sent), 2 * rounds + 2)
        # After the creation (seq 1), the messages take 2 … 2 * rounds + 3, in some order.
        self.assertEqual(sorted(m["seq"] for m in all_sent), list(range(2, 2 * rounds + 4)))
        for chat, own in ((c, None), (d, None), (a, "a"), (b, "b")):
            others = [m for m in all_sent if own is None or m not in sent[own]]
            wanted = {m["id"] for m in others}
            with chat.condition:
                chat.condition.wait_for(lambda: wanted <= {
                    args[0]["id"] for event, args, _ in chat.events if event == "message"}, 60)
            seqs = [m["seq"] for m in chat.payloads("message")]
            # Every message this socket was to get, each once, in seq order. (A sender's own
            # message may come too, as an event besides its ack, when a read of what was
            # missed saw its commit before its node delivered it: clients match it by id.)
            self.assertEqual(seqs, sorted(set(seqs)), (own, seqs))
            self.assertLessEqual({m["seq"] for m in others}, set(seqs), (own, seqs))
            self.assertLessEqual(set(seqs), {m["seq"] for m in all_sent}, (own, seqs))


class ArrivalBeforeAPublishTest(ClusterCase):
    """A user's first socket on node 2 arrives while node 1 holds back the publish of a group
    it just made (the tests' fault hook): node 2 reads the group's present for the arriving
    user before the publish comes."""

    def test_the_members_already_there_still_get_the_group(self):
        self.start_cluster(n1_env={"PARLEY_TEST_PUBLISH_DELAY_MS": "1500"})
        alice = self.user("Alice", server=self.n1)
        bob, carol = self.user("Bob", server=self.n2), self.user("Carol", server=self.n2)
        b = self.chat(bob, server=self.n2)
        group = self.open_conversation(alice, bob, carol, title="Made on node 1")
        # Carol arrives on node 2 within the publish's delay (if connecting took longer, the
        # publish came first, and this proves only what CrossNodeChatTest does).
        self.chat(carol, server=self.n2)
        shown = b.next_payload("conversation")
        self.assertEqual((shown["id"], shown["title"]), (group["id"], "Made on node 1"))
        message = self.assertSent(self.chat(alice, server=self.n1).send(
            "after", conversation_id=group["id"]))
        self.assertEqual(b.next_payload("message"), message)


class BusOutageTest(ClusterCase):
    """Redis of the test's own, stopped and killed."""

    def setUp(self):
        super().setUp()
        self.services = TestServices().start()
        self.addCleanup(self.services.stop)
        self.start_cluster(self.services.postgres_url, self.services.redis_url)
        self.alice = self.user("Alice", server=self.n1)
        self.bob = self.user("Bob", server=self.n2)
        self.a = self.chat(self.alice, server=self.n1)
        self.b = self.chat(self.bob, server=self.n2)
        first = self.assertSent(self.a.send("before", to=self.bob.id))
        self.conversation = first["conversation_id"]
        self.assertEqual(self.b.next_payload("message"), first)

    def assertReceivedOnce(self, chat, sent):
        """``chat`` gets every message of ``sent``, each once, in seq order."""
        wanted = {message["id"] for message in sent}

        def received_ids():
            return {args[0]["id"] for event, args, _ in chat.events if event == "message"}

        with chat.condition:
            arrived = chat.condition.wait_for(lambda: wanted <= received_ids(), 60)
        self.assertTrue(arrived, f"missing: {sorted(wanted - received_ids())}")
        received = [m for m in chat.payloads("message") if m["conversation_id"] == self.conversation]
        ids = [m["id"] for m in received]
        self.assertEqual(len(ids), len(set(ids)), ids)
        seqs = [m["seq"] for m in received]
        self.assertEqual(seqs, sorted(seqs))

    def test_messages_sent_while_redis_is_down_arrive_once_it_is_back(self):
        self.services.stop_redis()
        sent = [self.assertSent(self.a.send(f"while Redis is away {i}",
                                            conversation_id=self.conversation))
                for i in range(5)]  # committed and acknowledged: PostgreSQL is the truth
        self.services.start_redis()
        self.assertReceivedOnce(self.b, sent)
        after = self.assertSent(self.a.send("after", conversation_id=self.conversation))
        self.assertReceivedOnce(self.b, sent + [after])

    def test_a_conversation_begun_while_redis_is_down_reaches_its_connected_member(self):
        carol = self.user("Carol", server=self.n2)
        c = self.chat(carol, server=self.n2)  # connected before: no sync will bring it
        self.services.stop_redis()
        sent = [self.assertSent(self.a.send("new while Redis is away", to=carol.id))]
        sent += [self.assertSent(self.a.send(f"and more {i}",
                                             conversation_id=sent[0]["conversation_id"]))
                 for i in range(3)]
        self.services.start_redis()
        self.wait_bus_ready(self.n2, 2)
        self.conversation = sent[0]["conversation_id"]
        self.assertReceivedOnce(c, sent)

    def test_a_killed_subscription_is_restored_and_nothing_is_lost_or_doubled(self):
        self.redis_cli("CLIENT", "KILL", "TYPE", "pubsub")
        sent = [self.assertSent(self.a.send(f"around the kill {i}",
                                            conversation_id=self.conversation))
                for i in range(5)]
        self.wait_bus_ready(self.n2, 2)  # resubscribed (and caught up from PostgreSQL)
        after = self.assertSent(self.a.send("after", conversation_id=self.conversation))
        self.assertReceivedOnce(self.b, sent + [after])


class DatabaseOutageTest(ClusterCase):
    """PostgreSQL of the test's own, stopped and started again."""

    def test_sends_are_refused_while_postgres_is_down_and_work_again_after(self):
        services = TestServices().start()
        self.addCleanup(services.stop)
        self.start_cluster(services.postgres_url, services.redis_url)
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2)
        first = self.assertSent(a.send("first", to=bob.id))
        self.assertEqual(b.next_payload("message"), first)
        services.stop_postgres()
        refused = a.send("not stored", conversation_id=first["conversation_id"])
        self.assertAckError(refused, "internal_error")  # no acknowledgement without a commit
        self.assertIsNone(self.n1.process.poll())  # the node stays up
        services.start_postgres()
        again = self.assertSent(a.send("stored again", conversation_id=first["conversation_id"]))
        self.assertEqual(b.next_payload("message"), again)
        bodies = [m["body"] for m in self.full_history(alice, first["conversation_id"])]
        self.assertEqual(bodies, ["first", "stored again"])


if __name__ == "__main__":
    unittest.main()
