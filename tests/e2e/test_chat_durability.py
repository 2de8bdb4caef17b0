"""Durability of messages: message:send is acknowledged "only after the message is durably
stored", so whatever was acknowledged before a SIGKILL is in the history after a restart on
the same database, exactly once; each conversation's log stays whole (seq 1, 2, 3, … without
gaps or repeats, ids growing with seq); retrying a client_id after the restart never makes a
second message.

Clients stream messages (a window of sends in flight) and the test SIGKILLs the server once
a given number of acks has come back, while the streams are still going.
"""

import itertools
import unittest

from chat_client import WindowedStream
from chat_support import ChatCase, message_payload


class Stream(WindowedStream):
    """Sends messages to one conversation on one socket, at most ``window`` unanswered, until
    the connection ends; records what was emitted and what was acknowledged."""

    def __init__(self, chat, conversation_id, window, prefix, on_ack):
        calls = (("message:send", message_payload(f"{prefix} {n}", conversation_id=conversation_id))
                 for n in itertools.count())
        super().__init__(chat, calls, window, on_ack, name=prefix)
        self.emitted = []  # payloads, in order
        self.acked = {}  # client_id -> message
        self.refused = []  # error acks (there should be none)

    def sent(self, index, payload):
        self.emitted.append(payload)

    def answered(self, index, payload, ack):
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.acked[payload["client_id"]] = ack["message"]
        else:
            self.refused.append((payload, ack))


class MessagesSurviveSigkillTest(ChatCase):
    flags = ("--message-rate", "0")

    def restart(self):
        self.server.kill()
        self.server = self.start_server(*self.flags, directory=self.server.directory)
        return self.server

    def run_streams(self, sockets_and_conversations, window, kill_after):
        """Streams on every socket; SIGKILLs the server after ``kill_after`` acks in all."""
        streams = self.kill_while_streaming(
            lambda on_ack: [Stream(chat, conversation, window, f"stream {index}", on_ack)
                            for index, (chat, conversation) in enumerate(sockets_and_conversations)],
            kill_after)
        for stream in streams:
            self.assertEqual(stream.refused, [], "no refusals while streaming")
        total = sum(len(stream.acked) for stream in streams)
        self.assertGreaterEqual(total, kill_after)
        return streams

    def sync_all(self, chat, conversations):
        """Every message of ``conversations`` by `sync` from their beginning (cursor 0), paged
        at 500; checks that each conversation's object comes with the seq of its last message.
        Returns the messages, ordered by (conversation_id, updated_seq)."""
        messages, objects, left, _ = self.sync_to_present(
            chat, {conversation: 0 for conversation in conversations}, limit=500)
        self.assertEqual(left, [])
        self.assertEqual(sorted(objects), sorted(conversations))
        for conversation in conversations:
            last = [m["updated_seq"] for m in messages if m["conversation_id"] == conversation]
            self.assertEqual(objects[conversation]["seq"], max(last, default=objects[conversation]["seq"]))
        return messages

    def assertWholeLogs(self, messages, conversations, first_seq):
        """Per conversation: seq first_seq, first_seq + 1, … (no gap, no repeat), nothing
        changed since it was sent, ids growing with seq."""
        for conversation in conversations:
            mine = [m for m in messages if m["conversation_id"] == conversation]
            self.assertEqual([m["seq"] for m in mine],
                             list(range(first_seq[conversation], first_seq[conversation] + len(mine))),
                             "the log has no gap and no repeat")
            for message in mine:
                self.assertMessage(message, plain=True)
            ids = [m["id"] for m in mine]
            self.assertEqual(ids, sorted(set(ids)), "unique ids, growing with seq")

    def check_after_restart(self, user, streams, conversations, first_seq):
        """Every acknowledged message exactly once, as acknowledged; nothing never sent;
        whole logs; retries are idempotent. Returns the history (sync order). ``first_seq``:
        each conversation's first message's seq (a group's creation takes seq 1)."""
        chat = self.chat(user)
        synced = self.sync_all(chat, conversations)
        self.assertEqual(len({m["id"] for m in synced}), len(synced), "unique ids")
        self.assertWholeLogs(synced, conversations, first_seq)
        emitted = {payload["client_id"]: payload for stream in streams for payload in stream.emitted}
        by_client_id = {}
        for message in synced:
            self.assertNotIn(message["client_id"], by_client_id, f"stored twice: {message}")
            by_client_id[message["client_id"]] = message
            self.assertIn(message["client_id"], emitted, f"a message nobody sent: {message}")
            self.assertEqual(message["body"], emitted[message["client_id"]]["body"])
        for stream in streams:
            for client_id, acked in stream.acked.items():
                self.assertEqual(by_client_id.get(client_id), acked,
                                 "an acknowledged message is in the history, unchanged")
        # The REST history of each conversation agrees with the sync.
        history = []
        for conversation in conversations:
            history += self.full_history(user, conversation)
        self.assertEqual(sorted(history, key=lambda m: (m["conversation_id"], m["updated_seq"])),
                         synced)

        # Retrying every emitted message after the restart: the stored ones come back as
        # they are, the lost ones are stored now, after the old ones; either way once.
        newest = {conversation: max(((m["seq"], m["id"]) for m in synced
                                     if m["conversation_id"] == conversation), default=(0, 0))
                  for conversation in conversations}
        for payload in emitted.values():
            owner = next(stream for stream in streams if payload in stream.emitted)
            ack = owner.retry_socket.ack("message:send", payload)
            message = self.assertSent(ack, client_id=payload["client_id"], body=payload["body"])
            if payload["client_id"] in by_client_id:
                self.assertEqual(message, by_client_id[payload["client_id"]])
            else:
                seq, id = newest[message["conversation_id"]]
                self.assertGreater(message["seq"], seq, "the log goes on after the old messages")
                self.assertGreater(message["id"], id, "new ids above the conversation's old ones")
        after_retries = self.sync_all(chat, conversations)
        self.assertEqual(sorted(m["client_id"] for m in after_retries), sorted(emitted))
        self.assertWholeLogs(after_retries, conversations, first_seq)
        return synced

    def test_each_send_awaiting_its_ack(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.direct_conversation(alice, bob)
        streams = self.run_streams([(self.chat(alice), conversation)], window=1, kill_after=40)
        self.restart()
        streams[0].retry_socket = self.chat(alice)
        synced = self.check_after_restart(bob, streams, [conversation], {conversation: 1})
        self.assertGreaterEqual(len(synced), 40)

    def test_concurrent_streams_with_several_in_flight(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        group = self.open_conversation(alice, bob, carol, title="Load", status=201)["id"]
        direct = self.direct_conversation(alice, bob)
        senders = [(alice, group), (bob, group), (carol, group), (alice, direct)]
        sockets = [(self.chat(user), conversation) for user, conversation in senders]
        # Bob also has a receiving socket: delivery work goes on while the server dies.
        self.chat(bob)
        streams = self.run_streams(sockets, window=8, kill_after=300)
        self.restart()
        for stream, (user, _) in zip(streams, senders):
            stream.retry_socket = self.chat(user)
        synced = self.check_after_restart(bob, streams, [group, direct], {group: 2, direct: 1})
        self.assertGreaterEqual(len(synced), 300)
        # Everyone sees the same group history.
        group_history = self.full_history(alice, group)
        self.assertEqual(self.full_history(carol, group), group_history)

    def test_messages_survive_a_restart_after_a_clean_stop(self):
        alice, bob = self.users("Alice", "Bob")
        conversation = self.direct_conversation(alice, bob)
        chat = self.chat(alice)
        sent = [self.assertSent(chat.send(f"before {n}", conversation_id=conversation))
                for n in range(5)]
        bobs = self.chat(bob)
        read = bobs.ack("message:read", {"conversation_id": conversation, "up_to": sent[2]["id"]})
        self.assertEqual(read, {"ok": True})
        chat.disconnect()
        bobs.disconnect()
        self.server.stop_cleanly()
        self.server = self.start_server(*self.flags, directory=self.server.directory)
        self.assertEqual(self.full_history(bob, conversation), sent)
        listed = self.conversations(bob)
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["last_message"], sent[-1])
        self.assertEqual(listed[0]["unread_count"], 2, "the read mark survives")
        self.assertEqual(self.member(listed[0], bob)["read_up_to"], sent[2]["id"])
        self.assertEqual(listed[0]["seq"], sent[-1]["seq"])
        # Seq and ids keep growing across the restart, and the direct conversation is the
        # same one.
        later = self.assertSent(self.chat(alice).send("after", to=bob.id),
                                conversation_id=conversation, seq=sent[-1]["seq"] + 1)
        self.assertGreater(later["id"], sent[-1]["id"])

    def test_contacts_and_conversations_survive_sigkill(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        self.add_contact(alice, bob, "Bobby")
        self.add_contact(alice, carol)
        response = self.api("PATCH", f"/contacts/{carol.id}", {"name": "Caz"}, alice)
        self.assertEqual(response.status, 200, response)
        self.add_contact(bob, carol)
        self.assertEqual(self.api("DELETE", f"/contacts/{carol.id}", user=bob).status, 204)
        direct = self.open_conversation(alice, bob, status=201)
        group = self.open_conversation(alice, bob, carol, title="Survivors", status=201)
        contacts, conversations = self.contacts(alice), self.conversations(alice)
        self.restart()
        self.assertEqual(self.contacts(alice), contacts)
        self.assertEqual(self.contacts(bob), [])
        self.assertEqual(self.conversations(alice), conversations)
        self.assertEqual(self.open_conversation(alice, bob, status=200), direct)
        self.assertEqual([c["id"] for c in self.conversations(carol)], [group["id"]])

    def direct_conversation(self, owner, other):
        return self.open_conversation(owner, other, status=201)["id"]


if __name__ == "__main__":
    unittest.main()
