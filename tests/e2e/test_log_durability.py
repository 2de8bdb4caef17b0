"""Durability of the conversation log: an acknowledged edit or reaction ({"ok": true, "message"})
is a committed change, so whatever was acknowledged before a SIGKILL is there after a restart
on the same database, as acknowledged or superseded by a later change that was sent; nothing
that was never sent appears; the log stays consistent (one seq per change, the conversation's
seq at the top, sync and history agreeing) and goes on from where it was.

Clients stream changes (a window of them in flight) and the test SIGKILLs the server once a given
number of acks has come back, while the streams are still going.
"""

import unittest

from chat_client import WindowedStream
from log_support import LogCase, change_rate_off

EMOJI = ["👍", "❤️", "😂", "🎉", "🇫🇷", "1️⃣", "🙏", "🔥"]


class Stream(WindowedStream):
    """Emits ``calls`` ((event, payload) pairs) in order on one socket, at most ``window``
    unanswered, until they run out or the connection ends; records each call's ack."""

    def __init__(self, chat, calls, window, on_ack):
        super().__init__(chat, calls, window, on_ack)
        self.emitted = 0  # calls[:emitted] were sent
        self.acks = {}  # index -> ack

    def sent(self, index, payload):
        self.emitted = index + 1

    def answered(self, index, payload, ack):
        self.acks[index] = ack

    def accepted(self):
        """(index, message) of every call acknowledged with ok, in call order."""
        return sorted((index, ack["message"]) for index, ack in self.acks.items()
                      if isinstance(ack, dict) and ack.get("ok") is True)

    def refusals(self):
        return [(self.calls[index], ack) for index, ack in self.acks.items()
                if not (isinstance(ack, dict) and ack.get("ok") is True)]


class LogSurvivesSigkillTest(LogCase):
    flags = ("--message-rate", "0", *change_rate_off())

    def restart(self):
        self.server.kill()
        self.server = self.start_server(*self.flags, directory=self.server.directory)

    def run_streams(self, streams_spec, window, kill_after):
        """Starts a Stream per (chat, calls); SIGKILLs the server after ``kill_after`` acks."""
        streams = self.kill_while_streaming(
            lambda on_ack: [Stream(chat, calls, window, on_ack) for chat, calls in streams_spec],
            kill_after)
        for stream in streams:
            for call, ack in stream.refusals():
                # Only the per-user limit may refuse (when the binary cannot lift it).
                self.refused(ack, "rate_limited")
            self.assertLess(stream.emitted, len(stream.calls), "still streaming when killed")
        self.assertGreaterEqual(sum(len(stream.accepted()) for stream in streams), kill_after // 2)
        return streams

    def check_log(self, user, conversation_id):
        """The log after the restart is consistent: unique seqs and updated_seqs, the
        conversation's seq at the top, sync from the start equal to the history. Returns the
        history by id."""
        history = self.full_history(user, conversation_id)
        seqs = [m["seq"] for m in history]
        self.assertEqual(len(seqs), len(set(seqs)), "one seq per message")
        updated = [m["updated_seq"] for m in history]
        self.assertEqual(len(updated), len(set(updated)), "one change per seq")
        top = self.conversation_of(user, conversation_id)["seq"]
        self.assertGreaterEqual(top, max(updated))
        chat = self.chat(user)
        synced, _, _, _ = self.sync_to_present(chat, {conversation_id: 0}, limit=500)
        self.assertEqual(synced, sorted(history, key=lambda m: m["updated_seq"]))
        chat.disconnect()
        return {m["id"]: m for m in history}, top

    def test_acknowledged_edits_and_reactions_survive_sigkill(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        group = self.group(alice, bob, carol, title="Durable")["id"]
        a, b = self.chat(alice), self.chat(bob)
        originals = {}
        for sender, prefix in ((a, "Alice"), (b, "Bob")):
            for ack in sender.send_many([self.send_payload(group, f"{prefix} {n}") for n in range(400)],
                                        window=32):
                message = self.ok(ack)
                originals[message["id"]] = message
        alices = sorted(m["id"] for m in originals.values() if m["sender_id"] == alice.id)
        bobs = sorted(m["id"] for m in originals.values() if m["sender_id"] == bob.id)
        everything = sorted(originals)
        hot = alices[0]  # edited over and over by one stream: its last acknowledged version stays

        edits_by_alice = [("message:edit", {"message_id": mid, "body": f"Alice edited {mid}"})
                          for mid in alices[1:]]
        edits_by_bob = [("message:edit", {"message_id": mid, "body": f"Bob edited {mid}"}) for mid in bobs]
        reactions_by_carol = [("reaction:set", {"message_id": mid, "emoji": EMOJI[mid % len(EMOJI)]})
                              for mid in everything]
        reactions_by_bob = [("reaction:set", {"message_id": mid, "emoji": EMOJI[(mid + 3) % len(EMOJI)]})
                            for mid in reversed(everything)]
        versions = [("message:edit", {"message_id": hot, "body": f"version {n}"}) for n in range(2000)]
        # Bob's receiving socket keeps delivery work going while the server dies.
        self.chat(bob)
        streams = self.run_streams([(self.chat(alice), edits_by_alice), (self.chat(bob), edits_by_bob),
                                    (self.chat(carol), reactions_by_carol),
                                    (self.chat(bob), reactions_by_bob), (self.chat(alice), versions)],
                                   window=8, kill_after=400)
        self.restart()
        history, top = self.check_log(carol, group)
        self.assertEqual(set(history), set(originals), "no message lost or added")

        # Edits: acknowledged ones are there as acknowledged (each message was edited once);
        # ones sent without an ack may or may not be; nothing else changed a body.
        edited = {}
        for stream in streams[:2]:
            acknowledged = dict(stream.accepted())
            for index, (_, payload) in enumerate(stream.calls):
                mid = payload["message_id"]
                message = history[mid]
                if index in acknowledged:
                    self.assertEqual(message["body"], payload["body"], message)
                    self.assertEqual(message["edited_at"], acknowledged[index]["edited_at"], message)
                    self.assertGreaterEqual(message["updated_seq"], acknowledged[index]["updated_seq"])
                    edited[mid] = True
                elif index < stream.emitted:
                    self.assertIn(message["body"], (originals[mid]["body"], payload["body"]), message)
                    edited[mid] = message["body"] == payload["body"]
                else:
                    self.assertEqual(message["body"], originals[mid]["body"], "never sent")
                    self.assertIsNone(message["edited_at"], message)
        self.assertTrue(any(edited.values()))

        # Reactions: each user's acknowledged one is there; unacknowledged ones may be.
        for stream, user in ((streams[2], carol), (streams[3], bob)):
            acknowledged = dict(stream.accepted())
            for index, (_, payload) in enumerate(stream.calls):
                message = history[payload["message_id"]]
                mine = [r["emoji"] for r in message["reactions"] if user.id in r["user_ids"]]
                if index in acknowledged:
                    self.assertEqual(mine, [payload["emoji"]], message)
                elif index >= stream.emitted:
                    self.assertEqual(mine, [], f"never sent: {message}")
                else:
                    self.assertIn(mine, ([], [payload["emoji"]]), message)

        # The hot message: at least its last acknowledged version, at most the last one sent.
        version_stream = streams[4]
        accepted = version_stream.accepted()
        self.assertTrue(accepted, "some versions were acknowledged")
        last_acknowledged = accepted[-1][0]
        body = history[hot]["body"]
        self.assertRegex(body, r"^version \d+$")
        version = int(body.split()[1])
        self.assertGreaterEqual(version, last_acknowledged)
        self.assertLess(version, version_stream.emitted)
        self.assertGreaterEqual(history[hot]["updated_seq"], accepted[-1][1]["updated_seq"])

        # The log goes on after the last seq, and retries of acknowledged calls change nothing.
        alices_socket = self.chat(alice)
        for index, message in streams[0].accepted()[:20]:
            payload = streams[0].calls[index][1]
            self.assertEqual(self.edit(alices_socket, payload["message_id"], payload["body"]),
                             {"ok": True, "message": history[payload["message_id"]]})
        after = self.ok(self.react(alices_socket, hot, "🆗"))
        self.assertEqual(after["updated_seq"], top + 1, "the next seq after the restart")
        self.assertEqual(self.conversation_of(bob, group)["seq"], top + 1)

    def test_each_change_awaiting_its_ack(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        conversation = self.direct(alice, bob)
        originals = [self.ok(ack) for ack in a.send_many(
            [self.send_payload(conversation, f"message {n}") for n in range(300)], window=32)]
        calls = []
        for message in originals:
            calls.append(("message:edit", {"message_id": message["id"], "body": f"edited {message['id']}"}))
            calls.append(("reaction:set", {"message_id": message["id"], "emoji": "👍"}))
        streams = self.run_streams([(self.chat(alice), calls)], window=1, kill_after=60)
        self.restart()
        history, top = self.check_log(bob, conversation)
        acknowledged = dict(streams[0].accepted())
        self.assertGreaterEqual(len(acknowledged), 60)
        emitted = streams[0].emitted
        bodies = {message["id"]: message["body"] for message in originals}
        self.assertGreaterEqual(len(acknowledged), emitted - 1, "one call in flight at most")
        for index, (event, payload) in enumerate(calls):
            message = history[payload["message_id"]]
            if event == "message:edit":
                if index in acknowledged:
                    self.assertEqual(message["body"], payload["body"], message)
                    self.assertEqual(message["edited_at"], acknowledged[index]["edited_at"], message)
                elif index >= emitted:
                    self.assertEqual(message["body"], bodies[message["id"]], f"never sent: {message}")
                    self.assertIsNone(message["edited_at"], f"never sent: {message}")
            elif index in acknowledged:
                self.assertEqual(message["reactions"], [{"emoji": "👍", "user_ids": [alice.id]}], message)
            elif index >= emitted:
                self.assertEqual(message["reactions"], [], f"never sent: {message}")
        newest = max(m["updated_seq"] for m in history.values())
        self.assertEqual(top, newest, "every change in this conversation is a message change")


if __name__ == "__main__":
    unittest.main()
