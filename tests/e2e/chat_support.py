"""Helpers for the chat end-to-end tests (test_chat_*.py, and through log_support the
conversation log's): users, the REST calls of the contract's "Contacts" and "Conversations"
sections, the v2 shapes (message and conversation objects, the `sync` answer) and their
checks, paging `sync` to the present, and SIGKILLing the server while streams of calls
(chat_client.WindowedStream) are going. The Socket.IO client, ``Chat``, is in chat_client.
"""

import threading
import time
import warnings

from chat_client import Chat, message_payload, new_client_id  # noqa: F401 - re-exported
from parley_harness import TIMEOUT, ServerTestCase

# Distinct numbers the development sender accepts (the harness PHONE, +14155550123, is not
# among them).
PHONES = [f"+141555501{n:02d}" for n in range(1, 40)]
# The v2 objects (API.md, "Conventions" and "The conversation log").
MESSAGE_FIELDS = {"id", "conversation_id", "sender_id", "body", "sent_at", "client_id", "seq",
                  "updated_seq", "edited_at", "deleted", "reply_to", "reactions", "attachments"}
QUOTE_FIELDS = {"id", "sender_id", "body", "deleted"}  # a message's reply_to
CONVERSATION_FIELDS = {"id", "kind", "title", "members", "last_message", "unread_count", "seq",
                       "muted_until"}
USER_FIELDS = {"id", "name", "phone", "avatar_url"}
# The caller's own user object (sign-in, /me, their profile changes) also carries this.
OWN_USER_FIELDS = USER_FIELDS | {"notification_previews"}


def public_user(own):
    """A user object as others see it (user:updated, contacts, members), from the owner's."""
    return {key: value for key, value in own.items() if key != "notification_previews"}
# A message's attachment: always these, width and height when known, thumbnail_url for images.
ATTACHMENT_REQUIRED = {"id", "kind", "mime", "size", "name", "url"}
ATTACHMENT_FIELDS = ATTACHMENT_REQUIRED | {"width", "height", "thumbnail_url"}
MEMBER_FIELDS = USER_FIELDS | {"admin", "read_up_to", "delivered_up_to"}
SYNC_FIELDS = {"ok", "conversations", "messages", "left", "has_more"}


def now_ms():
    return int(time.time() * 1000)


def wait_for_clock_past(ms):
    """Returns once the wall clock (the server's too: same machine) reads more than ``ms``.

    Not a synchronisation with the server: it makes "later" strictly later in milliseconds,
    so that orderings by time (recent activity) have no ties. At most a millisecond or two."""
    while now_ms() <= ms:
        pass


class User:
    def __init__(self, token, user):
        self.token = token
        self.own = user  # as the user sees themselves: also "notification_previews"
        # As others see them: {"id", "name", "phone", "avatar_url"}
        self.user = {key: value for key, value in user.items() if key != "notification_previews"}
        self.id = user["id"]
        self.name = user["name"]
        self.phone = user["phone"]

    def __repr__(self):
        return f"<User {self.id} {self.name}>"


class ChatCase(ServerTestCase):
    """A fresh server per test, users signed in with the development sender, REST helpers
    and Socket.IO clients that are disconnected at the end of the test."""

    transports = ("websocket",)

    def setUp(self):
        # python-engineio 4.3.4 leaves its own sockets to the garbage collector.
        warnings.simplefilter("ignore", ResourceWarning)
        self.phones = iter(PHONES)
        super().setUp()

    # -- users and sockets ------------------------------------------------------------

    def user(self, name, phone=None, server=None):
        server = server or self.server
        signed_in = server.sign_in(phone or next(self.phones), name)
        return User(signed_in["token"], signed_in["user"])

    @staticmethod
    def user_from(verified):
        """A User from a verify response's JSON."""
        return User(verified["token"], verified["user"])

    def users(self, *names):
        return [self.user(name) for name in names]

    def chat(self, user, transports=None, connect=True, server=None):
        chat = Chat(server or self.server, user.token, transports or self.transports)
        self.addCleanup(chat.disconnect)
        if connect:
            chat.connect()
        return chat

    # -- REST ---------------------------------------------------------------------------

    def api(self, method, path, body=None, user=None, token=None, **options):
        if user is not None:
            token = user.token
        return self.server.request(method, "/api/v1" + path, body=body, token=token, **options)

    def add_contact(self, owner, other, name=None):
        body = {"phone": other.phone}
        if name is not None:
            body["name"] = name
        response = self.api("POST", "/contacts", body, owner)
        self.assertEqual(response.status, 201, response)
        return response.json()["contact"]

    def contacts(self, owner):
        response = self.api("GET", "/contacts", user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()["contacts"]

    def open_conversation(self, owner, *members, title=None, status=None):
        body = {"members": [member.id for member in members]}
        if title is not None:
            body["title"] = title
        response = self.api("POST", "/conversations", body, owner)
        if status is not None:
            self.assertEqual(response.status, status, response)
        else:
            self.assertIn(response.status, (200, 201), response)
        return response.json()["conversation"]

    def conversations(self, owner):
        response = self.api("GET", "/conversations", user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()["conversations"]

    def history_page(self, owner, conversation_id, before=None, limit=None):
        query = []
        if before is not None:
            query.append(f"before={before}")
        if limit is not None:
            query.append(f"limit={limit}")
        path = f"/conversations/{conversation_id}/messages" + ("?" + "&".join(query) if query else "")
        response = self.api("GET", path, user=owner)
        self.assertEqual(response.status, 200, response)
        return response.json()

    def full_history(self, owner, conversation_id, limit=100):
        """Every message, by paging backwards with before/limit; checks each page's order."""
        pages = []
        before = None
        while True:
            page = self.history_page(owner, conversation_id, before, limit)
            self.assertEqual(set(page), {"messages", "has_more"}, page)
            messages = page["messages"]
            self.assertLessEqual(len(messages), limit)
            ids = [message["id"] for message in messages]
            self.assertEqual(ids, sorted(set(ids)), "ascending within a page")
            if pages and messages:
                self.assertLess(ids[-1], pages[-1][0]["id"], "each page older than the last")
            if page["has_more"]:
                self.assertTrue(messages, "has_more with an empty page")
            if messages:
                pages.append(messages)
            if not page["has_more"]:
                break
            before = ids[0]
            self.assertLess(len(pages), 10_000)
        return [message for page in reversed(pages) for message in page]

    # -- assertions ---------------------------------------------------------------------

    def assertAttachment(self, attachment, message=None):
        """One of a message's attachments (API.md "Attachments"): the upload object, its
        url and, for images only, its thumbnail's."""
        self.assertIsInstance(attachment, dict, message)
        self.assertLessEqual(ATTACHMENT_REQUIRED, set(attachment), message)
        self.assertLessEqual(set(attachment), ATTACHMENT_FIELDS, message)
        self.assertIs(type(attachment["id"]), int, message)
        self.assertIn(attachment["kind"], ("image", "file"), message)
        self.assertIs(type(attachment["size"]), int, message)
        self.assertEqual(attachment["url"], f"/media/{attachment['id']}", message)
        if attachment["kind"] == "image":
            self.assertEqual(attachment["thumbnail_url"], f"/media/{attachment['id']}/thumbnail",
                             message)
        else:
            self.assertNotIn("thumbnail_url", attachment, message)
        for dimension in ("width", "height"):
            if dimension in attachment:
                self.assertIs(type(attachment[dimension]), int, message)

    def assertMessage(self, message, sender=None, conversation_id=None, body=None, client_id=None,
                      seq=None, plain=False):
        """A v2 message object. ``plain``: as sent and never changed since (no reply,
        attachment, edit, delete or reaction)."""
        self.assertIsInstance(message, dict, message)
        self.assertEqual(set(message), MESSAGE_FIELDS, message)
        for field in ("id", "conversation_id", "sender_id", "sent_at", "seq", "updated_seq"):
            self.assertIs(type(message[field]), int, (field, message))
            self.assertGreater(message[field], 0, (field, message))
        self.assertGreaterEqual(message["updated_seq"], message["seq"], message)
        self.assertIsInstance(message["body"], str, message)
        self.assertIsInstance(message["client_id"], str, message)
        self.assertIs(type(message["deleted"]), bool, message)
        if message["edited_at"] is not None:
            self.assertIs(type(message["edited_at"]), int, message)
            self.assertGreaterEqual(message["edited_at"], message["sent_at"], message)
        quote = message["reply_to"]
        if quote is not None:
            self.assertIsInstance(quote, dict, message)
            self.assertEqual(set(quote), QUOTE_FIELDS, message)
            self.assertIs(type(quote["id"]), int, message)
            self.assertIs(type(quote["deleted"]), bool, message)
            self.assertLessEqual(len(quote["body"]), 100, f"a quote: 100 characters at most: {message}")
            if quote["deleted"]:
                self.assertEqual(quote["body"], "", message)
        self.assertIsInstance(message["reactions"], list, message)
        users = []
        for reaction in message["reactions"]:
            self.assertIsInstance(reaction, dict, message)
            self.assertEqual(set(reaction), {"emoji", "user_ids"}, message)
            self.assertTrue(reaction["user_ids"], f"a reaction nobody has: {message}")
            users += reaction["user_ids"]
        emoji = [reaction["emoji"] for reaction in message["reactions"]]
        self.assertEqual(len(emoji), len(set(emoji)), f"an emoji listed twice: {message}")
        self.assertEqual(len(users), len(set(users)), f"one reaction per user: {message}")
        self.assertIsInstance(message["attachments"], list, message)
        self.assertLessEqual(len(message["attachments"]), 10, message)
        for attachment in message["attachments"]:
            self.assertAttachment(attachment, message)
        self.assertEqual(len({a["id"] for a in message["attachments"]}), len(message["attachments"]),
                         f"an upload attached twice: {message}")
        if message["deleted"]:
            self.assertEqual((message["body"], message["reactions"], message["attachments"]),
                             ("", [], []), message)
        if plain:
            self.assertEqual(message["updated_seq"], message["seq"], message)
            self.assertEqual((message["edited_at"], message["deleted"], message["reply_to"],
                              message["reactions"], message["attachments"]),
                             (None, False, None, [], []), message)
        if sender is not None:
            self.assertEqual(message["sender_id"], sender.id, message)
        if conversation_id is not None:
            self.assertEqual(message["conversation_id"], conversation_id, message)
        if body is not None:
            self.assertEqual(message["body"], body, message)
        if client_id is not None:
            self.assertEqual(message["client_id"], client_id, message)
        if seq is not None:
            self.assertEqual(message["seq"], seq, message)
        return message

    def assertSent(self, ack, **expected):
        """An ack {"ok": true, "message"}; returns the message (by default a plain one: see
        assertMessage)."""
        self.assertIsInstance(ack, dict, ack)
        self.assertEqual(set(ack), {"ok", "message"}, ack)
        self.assertIs(ack["ok"], True, ack)
        expected.setdefault("plain", True)
        return self.assertMessage(ack["message"], **expected)

    def assertConversationObject(self, conversation):
        """A v2 conversation object's shape: members with their admin flag and marks, the
        conversation's latest seq. Returns it."""
        self.assertIsInstance(conversation, dict, conversation)
        self.assertEqual(set(conversation), CONVERSATION_FIELDS, conversation)
        self.assertIs(type(conversation["id"]), int, conversation)
        self.assertGreater(conversation["id"], 0, conversation)
        self.assertIn(conversation["kind"], ("direct", "group"), conversation)
        self.assertIsInstance(conversation["title"], str, conversation)
        self.assertIs(type(conversation["seq"]), int, conversation)
        self.assertGreaterEqual(conversation["seq"], 0, conversation)
        self.assertIs(type(conversation["unread_count"]), int, conversation)
        self.assertGreaterEqual(conversation["unread_count"], 0, conversation)
        if conversation["muted_until"] is not None:
            self.assertIs(type(conversation["muted_until"]), int, conversation)
        members = conversation["members"]
        self.assertIsInstance(members, list, conversation)
        self.assertEqual(len({member["id"] for member in members}), len(members), conversation)
        for member in members:
            self.assertEqual(set(member), MEMBER_FIELDS, conversation)
            self.assertIs(type(member["admin"]), bool, conversation)
            for mark in ("read_up_to", "delivered_up_to"):
                self.assertIs(type(member[mark]), int, (mark, conversation))
                self.assertGreaterEqual(member[mark], 0, (mark, conversation))
            self.assertGreaterEqual(member["delivered_up_to"], member["read_up_to"],
                                    "reading implies delivery")
        if conversation["kind"] == "direct":
            self.assertEqual(len(members), 2, conversation)
            self.assertFalse(any(member["admin"] for member in members), "no admins in a direct one")
        else:
            self.assertTrue(any(member["admin"] for member in members), "a group has an admin")
        last = conversation["last_message"]
        if last is not None:
            self.assertMessage(last, conversation_id=conversation["id"])
            self.assertLessEqual(last["updated_seq"], conversation["seq"], conversation)
        return conversation

    @staticmethod
    def member(conversation, user):
        """The entry of ``user`` in a conversation object's members."""
        return next(member for member in conversation["members"] if member["id"] == user.id)

    def assertConversationAsListed(self, synced, listed):
        """``synced`` (from a sync answer) is ``listed`` (GET /conversations, asked for after
        it), except that a member's delivered mark may have moved on in between (deliveries
        are acknowledged by the clients' sockets, asynchronously); a read mark only moves on
        message:read, and the rest is the same object."""
        self.assertConversationObject(synced)
        self.assertConversationObject(listed)
        without_marks = [{key: value for key, value in member.items() if key != "delivered_up_to"}
                         for member in synced["members"]]
        self.assertEqual({**synced, "members": without_marks},
                         {**listed, "members": [{key: value for key, value in member.items()
                                                 if key != "delivered_up_to"}
                                                for member in listed["members"]]})
        for before, after in zip(synced["members"], listed["members"]):
            self.assertLessEqual(before["delivered_up_to"], after["delivered_up_to"], (synced, listed))

    # -- sync ---------------------------------------------------------------------------

    def sync(self, chat, cursors, limit=None):
        """One `sync` call with ``cursors`` ({conversation_id: seq}, or a list of pairs);
        checks the answer's shape and what the contract says of each page; returns it."""
        pairs = list(cursors.items() if isinstance(cursors, dict) else cursors)
        payload = {"cursors": [{"conversation_id": conversation, "seq": seq}
                               for conversation, seq in pairs]}
        if limit is not None:
            payload["limit"] = limit
        answer = chat.ack("sync", payload)
        self.assertIsInstance(answer, dict, answer)
        self.assertEqual(set(answer), SYNC_FIELDS, answer)
        self.assertIs(answer["ok"], True, answer)
        self.assertIs(type(answer["has_more"]), bool, answer)
        for field in ("conversations", "messages", "left"):
            self.assertIsInstance(answer[field], list, answer)
        cursor_of = dict(pairs)  # the last cursor named for a conversation counts
        objects = {}
        for conversation in answer["conversations"]:
            self.assertConversationObject(conversation)
            self.assertNotIn(conversation["id"], objects, "each conversation once")
            objects[conversation["id"]] = conversation
            if conversation["id"] in cursor_of:
                self.assertGreater(conversation["seq"], cursor_of[conversation["id"]],
                                   "an object only for a conversation that changed after its cursor")
        order = []
        for message in answer["messages"]:
            self.assertMessage(message)
            conversation = message["conversation_id"]
            self.assertIn(conversation, cursor_of,
                          "a conversation without a cursor contributes its object only")
            self.assertGreater(message["updated_seq"], cursor_of[conversation], message)
            if conversation in objects:
                self.assertLessEqual(message["updated_seq"], objects[conversation]["seq"], message)
            order.append((conversation, message["updated_seq"]))
        self.assertEqual(order, sorted(set(order)), "ordered by (conversation_id, updated_seq)")
        if limit is not None:
            self.assertLessEqual(len(answer["messages"]), limit)
        for conversation in answer["left"]:
            self.assertIn(conversation, cursor_of, "left: ids from the cursors")
            self.assertNotIn(conversation, objects)
        self.assertEqual(len(answer["left"]), len(set(answer["left"])), answer["left"])
        if not answer["has_more"]:
            for conversation, _ in order:
                self.assertIn(conversation, objects,
                              "the page with a conversation's last change carries its object")
        return answer

    def sync_to_present(self, chat, cursors, limit=None, check_page=None):
        """Pages through `sync` as the contract says a client does: with has_more it advances
        its cursors from the messages received and asks again; ``check_page`` (if given) is
        called with each answer. Returns (every message received, the last object received
        per conversation id, the ids left, the cursors to keep: the seq of each conversation
        object of the last answer)."""
        cursors = dict(cursors)
        messages, objects, left = [], {}, []
        for _ in range(10_000):
            page = self.sync(chat, cursors, limit)
            if check_page is not None:
                check_page(page)
            messages += page["messages"]
            objects.update((conversation["id"], conversation) for conversation in page["conversations"])
            left += [conversation for conversation in page["left"] if conversation not in left]
            if not page["has_more"]:
                cursors.update((conversation["id"], conversation["seq"])
                               for conversation in page["conversations"])
                return messages, objects, left, cursors
            self.assertTrue(page["messages"], "has_more with no message: no progress")
            for message in page["messages"]:
                cursors[message["conversation_id"]] = message["updated_seq"]
        self.fail("sync never ends")

    # -- durability -----------------------------------------------------------------------

    def kill_while_streaming(self, make_streams, kill_after):
        """Starts the streams (chat_client.WindowedStream) that ``make_streams(on_ack)``
        returns and SIGKILLs the server once ``kill_after`` acks have come back in all, while
        they are still going. Returns the streams once each has ended with its connection
        (re-raises a stream's own failure)."""
        acks = {"count": 0}
        reached = threading.Event()
        lock = threading.Lock()

        def on_ack():
            with lock:
                acks["count"] += 1
                if acks["count"] >= kill_after:
                    reached.set()

        streams = make_streams(on_ack)
        for stream in streams:
            stream.start()
        self.assertTrue(reached.wait(TIMEOUT * 3), f"only {acks['count']} acks of {kill_after}")
        self.server.kill()
        for stream in streams:
            stream.join(TIMEOUT)
            self.assertFalse(stream.is_alive(), "the stream ends with the connection")
            if stream.failure is not None:
                raise stream.failure
        return streams

    def assertAckError(self, ack, code=None):
        """An ack {"ok": false, "error": {"code", "message"}}; returns the error."""
        self.assertIsInstance(ack, dict, ack)
        self.assertEqual(set(ack), {"ok", "error"}, ack)
        self.assertIs(ack["ok"], False, ack)
        error = ack["error"]
        self.assertIsInstance(error, dict, ack)
        self.assertRegex(error.get("code", ""), r"^[a-z]+(_[a-z]+)*$", ack)
        if code is not None:
            self.assertEqual(error["code"], code, ack)
        self.assertIsInstance(error.get("message"), str, ack)
        self.assertTrue(error["message"], ack)
        return error
