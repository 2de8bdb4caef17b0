"""Helpers for the end-to-end tests of the conversation log (API.md v2, "The conversation log"
and "Groups"): message:edit, message:delete, reaction:set, replies, the `message:updated`,
`conversation` and `conversation:left` events, `sync`, and the group calls over REST.

Built on chat_support (users, sockets that record the server's events in wire order, REST,
the v2 object checks and `sync`: ``sync`` and ``sync_to_present``). As there, nothing sleeps: every wait blocks on an ack, an event queue or a
response, bounded by the harness TIMEOUT, which only limits failures.

"Nothing more reaches a socket" is proven with a flush: a postman user sends the socket's user
a direct message, and once that socket has received it every event committed before it is
behind it on the wire (each socket receives in commit order; see chat_support.Chat).
"""

import json
import subprocess
import threading

from chat_support import (  # noqa: F401 - re-exported
    TIMEOUT, ChatCase, message_payload, new_client_id, now_ms, wait_for_clock_past,
)
from parley_harness import BINARY, _environment

# Ids that are not ids: JSON strings, floats, negative, zero, above 2^63 - 1, other types.
NOT_IDS = ["5", "abc", 1.5, 5.0, -1, 0, 2 ** 63, 2 ** 64, 10 ** 30, True, None, [1], {"id": 1}]


def _help_text():
    try:
        result = subprocess.run([BINARY, "--help"], env=_environment(None), capture_output=True,
                                text=True, timeout=TIMEOUT)
        return result.stdout + result.stderr
    except OSError:
        return ""


_HELP = None


def change_rate_off():
    """The flags that lift the per-user limit on edits, deletes and reactions, for tests that
    make many changes quickly (empty when the binary has no such flag: the tests then stay
    within the default bursts or accept rate_limited refusals)."""
    global _HELP
    if _HELP is None:
        _HELP = _help_text()
    return ("--change-rate", "0") if "--change-rate" in _HELP else ()


def scope_of(name, payload):
    """The conversation an event is about (None for events about no conversation)."""
    if not isinstance(payload, dict):
        return None
    if name == "conversation":
        return payload.get("id")
    if name in ("message", "message:updated", "typing", "receipt", "conversation:left"):
        return payload.get("conversation_id")
    return None


class LogCase(ChatCase):
    """A fresh server per test (no send limit), plus the v2 calls and assertions."""

    flags = ("--message-rate", "0")

    def setUp(self):
        super().setUp()
        self._postman = None

    # -- conversations ------------------------------------------------------------------

    def group(self, owner, *others, title="Group"):
        return self.assertConversationObject(
            self.open_conversation(owner, *others, title=title, status=201))

    def direct(self, owner, other):
        return self.open_conversation(owner, other)["id"]

    def conversation_of(self, user, conversation_id):
        """The conversation as ``user`` sees it in GET /conversations (None: not listed)."""
        for conversation in self.conversations(user):
            if conversation["id"] == conversation_id:
                return conversation
        return None

    # -- the log over Socket.IO -----------------------------------------------------------

    def send(self, chat, conversation_id, body, reply_to=None, client_id=None):
        """message:send in ``conversation_id``; returns the stored message."""
        return self.ok(chat.ack("message:send", self.send_payload(conversation_id, body, reply_to,
                                                                   client_id)))

    @staticmethod
    def send_payload(conversation_id, body, reply_to=None, client_id=None, to=None):
        return message_payload(body, conversation_id, to, client_id, reply_to)

    @staticmethod
    def edit(chat, message_id, body):
        return chat.ack("message:edit", {"message_id": message_id, "body": body})

    @staticmethod
    def delete(chat, message_id):
        return chat.ack("message:delete", {"message_id": message_id})

    @staticmethod
    def react(chat, message_id, emoji):
        return chat.ack("reaction:set", {"message_id": message_id, "emoji": emoji})

    # -- groups over REST ---------------------------------------------------------------

    def rename(self, user, conversation_id, title):
        return self.api("PATCH", f"/conversations/{conversation_id}", {"title": title}, user)

    def add_members(self, user, conversation_id, *members):
        ids = [m if isinstance(m, int) else m.id for m in members]
        return self.api("POST", f"/conversations/{conversation_id}/members", {"user_ids": ids}, user)

    def remove_member(self, user, conversation_id, member):
        member_id = member if isinstance(member, int) else member.id
        return self.api("DELETE", f"/conversations/{conversation_id}/members/{member_id}", user=user)

    def leave(self, user, conversation_id):
        return self.remove_member(user, conversation_id, user)

    def set_admin(self, user, conversation_id, member, admin):
        member_id = member if isinstance(member, int) else member.id
        return self.api("PATCH", f"/conversations/{conversation_id}/members/{member_id}",
                        {"admin": admin}, user)

    def conversation_answer(self, response, status=200):
        self.assertEqual(response.status, status, response)
        body = response.json()
        self.assertEqual(set(body), {"conversation"}, response)
        return self.assertConversationObject(body["conversation"])

    def history_status(self, user, conversation_id):
        return self.api("GET", f"/conversations/{conversation_id}/messages", user=user).status

    def import_users(self, count, first=2000, prefix="Member"):
        """``count`` accounts added with `parley users import` on the running server's database
        (no SMS: the development sender's numbers are few). Returns their user objects."""
        lines = "".join(f"+1415555{first + n:04d},{prefix} {n}\n" for n in range(count))
        result = subprocess.run([BINARY, "users", "import", "--database", self.server.database],
                                env=_environment(None), input=lines, capture_output=True,
                                text=True, timeout=TIMEOUT * 3)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        users = [json.loads(line)["user"] for line in result.stdout.splitlines()]
        self.assertEqual(len(users), count)
        return users

    # -- flushing -------------------------------------------------------------------------

    def flush(self, chat, user):
        """Returns once ``chat`` (a socket of ``user``) has received a direct message sent now
        by a postman user: whatever was committed for that socket before is on the wire ahead
        of it. Returns the postman's message."""
        if self._postman is None:
            postman = self.user("Postman")
            self._postman = (postman, self.chat(postman))
        postman, socket = self._postman
        marker = self.send_payload(None, f"flush {new_client_id()}", to=user.id)
        message = self.ok(socket.ack("message:send", marker))
        chat.wait_for("message", lambda m: m["id"] == message["id"])
        return message

    def events_after(self, chat, name, predicate=lambda payload: True):
        """Every event (name, payload) the socket received after the first ``name`` event whose
        payload satisfies ``predicate``, in wire order."""
        with chat.condition:
            events = [(event, args[0] if len(args) == 1 else args) for event, args, _ in chat.events]
        for index, (event, payload) in enumerate(events):
            if event == name and predicate(payload):
                return events[index + 1:]
        raise AssertionError(f"no {name!r} event as expected; events: {events!r}"[:3000])

    def all_events(self, chat):
        with chat.condition:
            return [(event, args[0] if len(args) == 1 else args) for event, args, _ in chat.events]

    def about(self, chat, conversation_id, names=None):
        """The events the socket received about ``conversation_id``, in wire order."""
        return [(name, payload) for name, payload in self.all_events(chat)
                if scope_of(name, payload) == conversation_id and (names is None or name in names)]

    # -- assertions ---------------------------------------------------------------------

    def ok(self, ack):
        """An ack {"ok": true, "message"} with a v2 message (any: see assertMessage); returns
        the message."""
        return self.assertSent(ack, plain=False)

    def refused(self, ack, code):
        return self.assertAckError(ack, code)

    def assertSameConversation(self, one, other, viewer_fields=True):
        """Two conversation objects agree, but for the read and delivered marks (which move on
        their own as sockets acknowledge deliveries) and, with ``viewer_fields`` False, for what
        depends on who is looking (title of a direct one, unread_count, last_message)."""
        self.assertIsNotNone(one)
        self.assertIsNotNone(other)

        def without_marks(conversation):
            shown = {key: value for key, value in conversation.items()
                     if viewer_fields or key not in ("title", "unread_count", "last_message",
                                                     "muted_until")}
            shown["members"] = [{key: value for key, value in member.items()
                                 if key not in ("read_up_to", "delivered_up_to")}
                                for member in conversation["members"]]
            return shown

        self.assertEqual(without_marks(one), without_marks(other))

    def assertTombstone(self, message, of=None):
        """A deleted message (assertMessage checks what a tombstone holds), the one ``of``."""
        self.assertMessage(message)
        self.assertIs(message["deleted"], True, message)
        if of is not None:
            for field in ("id", "conversation_id", "sender_id", "sent_at", "client_id", "seq",
                          "reply_to"):
                self.assertEqual(message[field], of[field], (field, message, of))
        return message

    def assertNothingAfterLeft(self, chat, conversation_id):
        """The socket got conversation:left for the conversation exactly once, as its last
        event about it."""
        left = [payload for name, payload in self.all_events(chat) if name == "conversation:left"
                and scope_of(name, payload) == conversation_id]
        self.assertEqual(left, [{"conversation_id": conversation_id}])
        after = self.events_after(chat, "conversation:left",
                                  lambda p: p.get("conversation_id") == conversation_id)
        leaked = [(name, payload) for name, payload in after
                  if scope_of(name, payload) == conversation_id]
        self.assertEqual(leaked, [], "nothing of the conversation after conversation:left")

    def members_of(self, conversation):
        return {member["id"]: member for member in conversation["members"]}

    def admins_of(self, conversation):
        return sorted(member["id"] for member in conversation["members"] if member["admin"])


def run_together(*functions):
    """Starts every function at once (each in a thread, released together) and returns their
    results in order; re-raises the first failure."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)
    failures = []

    def run(index, function):
        try:
            barrier.wait(TIMEOUT)
            results[index] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index, function), daemon=True)
               for index, function in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
        if thread.is_alive():
            raise AssertionError("a concurrent call did not finish")
    if failures:
        raise failures[0]
    return results


def emit_together(pairs):
    """Emits each (chat, event, payload) without waiting in between, then waits for every
    ack; returns the acks in order."""
    done = threading.Condition()
    answers = [None] * len(pairs)
    state = {"answered": 0}

    def callback(index):
        def answered(*args):
            with done:
                answers[index] = args[0] if len(args) == 1 else args
                state["answered"] += 1
                done.notify_all()

        return answered

    for index, (chat, event, payload) in enumerate(pairs):
        chat.emit(event, payload, callback=callback(index))
    with done:
        if not done.wait_for(lambda: state["answered"] == len(pairs), TIMEOUT):
            raise AssertionError(f"{state['answered']} of {len(pairs)} acks within {TIMEOUT} s")
    return answers


__all__ = [
    "TIMEOUT", "LogCase", "NOT_IDS", "change_rate_off", "emit_together", "new_client_id",
    "now_ms", "run_together", "scope_of", "wait_for_clock_past",
]
