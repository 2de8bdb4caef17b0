"""What the Socket.IO chat tests (test_chat_realtime, test_chat_events) share: a case with
helpers for times, conversations, receipts and sync, and the two transports as mixins."""

from chat_support import ChatCase

# Multi-byte UTF-8, an astral character (a surrogate pair in JSON), the polling record
# separator, a new line, quotes and a backslash.
TRICKY = "héllo ✓ 😀 \x1e sep\nline 2\t\"quoted\" \\ back"
SLACK_MS = 1000  # clock granularity; catches seconds-for-milliseconds and zero times


class RealtimeCase(ChatCase):
    flags = ("--message-rate", "0")

    def assertNow(self, ms, before, after):
        self.assertIs(type(ms), int)
        self.assertGreaterEqual(ms, before - SLACK_MS)
        self.assertLessEqual(ms, after + SLACK_MS)

    def group(self, owner, *others, title="Group"):
        return self.open_conversation(owner, *others, title=title, status=201)["id"]

    def direct(self, owner, other):
        return self.open_conversation(owner, other)["id"]

    def wait_delivered(self, senders_socket, conversation_id, user, up_to):
        """Waits on a socket of a message's sender for ``user``'s delivered receipt covering
        ``up_to`` (the mark is stored when the receipt goes out), taking the receipts before it."""
        senders_socket.wait_for("receipt", lambda r: (r["conversation_id"], r["user_id"], r["kind"])
                                == (conversation_id, user.id, "delivered") and r["up_to"] >= up_to)

    def assertSyncedEverything(self, chat, user, conversation_id, messages):
        """``user`` syncs ``conversation_id`` from its beginning (cursor 0) on ``chat``: exactly
        ``messages`` and the conversation object as listed over REST; then, from the seq of
        that object, nothing. (Call it once no mark moves any more: see wait_delivered.)"""
        answer = self.sync(chat, {conversation_id: 0})
        self.assertEqual((answer["messages"], answer["left"], answer["has_more"]),
                         (messages, [], False))
        self.assertEqual([c["id"] for c in answer["conversations"]], [conversation_id])
        synced = answer["conversations"][0]
        self.assertEqual(synced["seq"], messages[-1]["updated_seq"] if messages else 0)
        listed = next(c for c in self.conversations(user) if c["id"] == conversation_id)
        self.assertEqual(synced, listed)
        self.assertEqual(self.sync(chat, {conversation_id: synced["seq"]}),
                         {"ok": True, "conversations": [], "messages": [], "left": [],
                          "has_more": False})


class WebSocket:
    transports = ("websocket",)


class Polling:
    transports = ("polling",)
