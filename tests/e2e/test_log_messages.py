"""The conversation log, the changes to messages (API.md v2: "The conversation log"), end to
end with Debian's python3-socketio: edits, deletes for everyone, reactions, replies and their
quotes, every rule and error code of those calls, `message:updated`, races between sockets, and
the rate limits of changes.

"Receives nothing" is proven in wire order, never with a sleep: after the change that must not
reach a socket, something that must reach it is sent (a later change, or a postman's direct
message, see log_support.LogCase.flush), and what came before it is checked.
"""

import re
import unittest

from log_support import (
    NOT_IDS,
    LogCase,
    change_rate_off,
    emit_together,
    now_ms,
    run_together,
    wait_for_clock_past,
)

# Reactions the contract accepts: an Extended_Pictographic start (with modifiers, variation
# selectors, ZWJ sequences), a flag of two regional indicators, a keycap.
# The longest: one grapheme of exactly 32 bytes (an emoji and 14 two-byte combining marks).
GOOD_EMOJI = ["👍", "1️⃣", "#️⃣", "🇫🇷", "❤", "❤️", "👍🏽", "👩‍👩‍👧‍👦", "🏳️‍🌈", "👍" + "\u0301" * 14]
# And ones it refuses: several graphemes, over 32 bytes (one grapheme of 100 bytes: an emoji
# with 48 combining marks), not emoji at all, half a flag, empty, not a string.
ONE_GRAPHEME_OF_100_BYTES = "👍" + "\u0301" * 48
ONE_GRAPHEME_OF_33_BYTES = "👍\ufe0f" + "\u0301" * 13
BAD_EMOJI = ["👍👍", "😀" * 25, ONE_GRAPHEME_OF_100_BYTES, ONE_GRAPHEME_OF_33_BYTES, "a", "1", "#",
             "🇫", "", " ", "a👍",
             "👍 ", "❤️❤️", 5, True, ["👍"], {"emoji": "👍"}]

class EditTest(LogCase):
    def test_edit_by_the_sender_reaches_every_socket_but_the_acting_one(self):
        assert len(ONE_GRAPHEME_OF_100_BYTES.encode()) == 100
        assert len(ONE_GRAPHEME_OF_33_BYTES.encode()) == 33 and len(GOOD_EMOJI[-1].encode()) == 32
        alice, bob = self.users("Alice", "Bob")
        a1, a2, b = self.chat(alice), self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        sent = self.send(a1, conversation, "first version")
        self.assertEqual((sent["seq"], sent["updated_seq"], sent["edited_at"], sent["deleted"],
                          sent["reply_to"], sent["reactions"]), (1, 1, None, False, None, []))
        self.assertEqual(b.next_payload("message"), sent)
        self.assertEqual(a2.next_payload("message"), sent)

        before = now_ms()
        edited = self.ok(self.edit(a1, sent["id"], "  second version \n"))
        self.assertEqual(edited["body"], "second version", "trimmed as a send is")
        self.assertEqual(edited["seq"], sent["seq"])
        self.assertEqual(edited["updated_seq"], 2, "the conversation's next seq")
        self.assertIs(type(edited["edited_at"]), int)
        self.assertGreaterEqual(edited["edited_at"], before - 1000)
        self.assertLessEqual(edited["edited_at"], now_ms() + 1000)
        unchanged = {k: v for k, v in edited.items() if k not in ("body", "updated_seq", "edited_at")}
        self.assertEqual(unchanged, {k: v for k, v in sent.items()
                                     if k not in ("body", "updated_seq", "edited_at")})
        self.assertEqual(b.next_payload("message:updated"), edited)
        self.assertEqual(a2.next_payload("message:updated"), edited)
        self.flush(a1, alice)
        self.assertEqual(a1.payloads("message:updated"), [], "the acting socket has the ack")

        self.assertEqual(self.full_history(bob, conversation), [edited])
        listed = self.conversation_of(bob, conversation)
        self.assertEqual(listed["last_message"], edited)
        self.assertEqual(listed["seq"], 2)

        # Someone else's message: not_allowed, and nothing changes.
        self.refused(self.edit(b, sent["id"], "Bob was here"), "not_allowed")
        # The same body again (after trimming too): success with the current state, no seq,
        # no event: Bob's next message:updated is the edit after them.
        for same in ("second version", "   second version   "):
            self.assertEqual(self.edit(a1, sent["id"], same), {"ok": True, "message": edited})
        third = self.ok(self.edit(a2, sent["id"], "third version"))
        self.assertEqual(third["updated_seq"], 3)
        self.assertEqual(b.next_payload("message:updated"), third)
        self.assertEqual(a1.next_payload("message:updated"), third, "a2 acted: a1 hears of it")
        self.assertEqual(self.full_history(alice, conversation), [third])

    def test_edit_refusals(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        bobs = self.send(b, group, "Bob's words")
        alices = self.send(a, group, "Alice's words")
        # Not the sender, even a group admin: not_allowed.
        self.refused(self.edit(a, bobs["id"], "the admin's words"), "not_allowed")
        self.refused(self.edit(c, bobs["id"], "Carol's words"), "not_allowed")
        self.refused(self.edit(b, alices["id"], "Bob's words"), "not_allowed")
        # The body rules of a send.
        for body, code in (("", "bad_request"), ("   \n\t", "bad_request"), ("x" * 4001, "body_too_long"),
                           (None, "bad_request"), (12, "bad_request"), (["x"], "bad_request")):
            with self.subTest(body=str(body)[:20]):
                self.refused(a.ack("message:edit", {"message_id": alices["id"], "body": body}), code)
        self.refused(a.ack("message:edit", {"message_id": alices["id"]}), "bad_request")
        self.refused(a.ack("message:edit", {"body": "no id"}), "bad_request")
        self.refused(a.ack("message:edit", "not an object"), "bad_request")
        longest = self.ok(self.edit(a, alices["id"], "é" * 4000))
        self.assertEqual(longest["body"], "é" * 4000, "4,000 characters, not bytes")
        # Unknown, and in a conversation the caller is not in: not_found.
        dave = self.user("Dave")
        elsewhere = self.send(self.chat(dave), self.direct(dave, carol), "not Alice's business")
        for message_id in (10 ** 12, elsewhere["id"]):
            self.refused(self.edit(a, message_id, "hello"), "not_found")
            self.refused(self.delete(a, message_id), "not_found")
            self.refused(self.react(a, message_id, "👍"), "not_found")
            self.refused(self.react(a, message_id, None), "not_found")
        self.assertEqual([m["body"] for m in self.full_history(carol, group)],
                         ["Bob's words", "é" * 4000])

    def test_ids_that_are_not_ids_are_bad_request(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        conversation = self.direct(alice, bob)
        sent = self.send(a, conversation, "target")
        for value in NOT_IDS:
            with self.subTest(message_id=value):
                self.refused(a.ack("message:edit", {"message_id": value, "body": "x"}), "bad_request")
                self.refused(a.ack("message:delete", {"message_id": value}), "bad_request")
                self.refused(a.ack("reaction:set", {"message_id": value, "emoji": "👍"}), "bad_request")
                if value is not None:  # an absent reply_to is no reply
                    self.refused(a.ack("message:send", self.send_payload(
                        conversation, "reply", reply_to=value)), "bad_request")
        self.assertEqual(self.full_history(alice, conversation), [sent], "nothing changed")

    def test_edit_and_delete_windows(self):
        # Covered by a server with both windows at 0 seconds: a message is past them as soon as
        # the clock has moved on. A group admin may still delete anyone's message.
        self.server.close()
        self.server = self.start_server("--message-rate", "0", "--edit-window", "0",
                                        "--delete-window", "0")
        config = self.server.get("/api/v1/config")
        self.assertEqual(config.status, 200, config)
        self.assertEqual((config.json()["edit_window_s"], config.json()["delete_window_s"]), (0, 0))
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, self.user("Carol"))["id"]
        direct = self.direct(alice, bob)
        in_direct = self.send(a, direct, "too late to change")
        bobs = self.send(b, group, "Bob in the group")
        alices = self.send(a, group, "Alice in the group")
        wait_for_clock_past(max(in_direct["sent_at"], bobs["sent_at"], alices["sent_at"]))
        self.refused(self.edit(a, in_direct["id"], "changed"), "not_allowed")
        self.refused(self.delete(a, in_direct["id"]), "not_allowed")
        self.refused(self.edit(b, bobs["id"], "changed"), "not_allowed")
        self.refused(self.delete(b, bobs["id"]), "not_allowed")
        self.refused(self.edit(a, alices["id"], "changed"), "not_allowed")
        self.assertTombstone(self.ok(self.delete(a, bobs["id"])), of=bobs)
        self.assertTombstone(self.ok(self.delete(a, alices["id"])), of=alices)
        self.assertEqual(self.full_history(bob, direct), [in_direct])

    def test_config(self):
        response = self.server.get("/api/v1/config")
        self.assertEqual(response.status, 200, response)
        config = response.json()
        self.assertEqual({key: config.get(key) for key in ("max_message_length", "edit_window_s",
                                                            "delete_window_s", "max_group_members")},
                         {"max_message_length": 4000, "edit_window_s": 86400,
                          "delete_window_s": 172800, "max_group_members": 101})
        other = self.start_server("--max-message-length", "10", "--max-group-members", "5")
        config = other.get("/api/v1/config").json()
        self.assertEqual((config["max_message_length"], config["max_group_members"]), (10, 6))


class DeleteTest(LogCase):
    def test_delete_by_the_sender_and_by_a_group_admin(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b1, b2, c = self.chat(alice), self.chat(bob), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        first = self.send(a, group, "the first")
        bobs = self.send(b1, group, "Bob's", reply_to=first["id"])
        self.ok(self.react(c, bobs["id"], "👍"))
        edited = self.ok(self.edit(b1, bobs["id"], "Bob's, edited"))
        carols = self.send(c, group, "Carol's")
        reacted_at_b1 = b1.next_payload("message:updated")
        self.assertEqual(reacted_at_b1["reactions"], [{"emoji": "👍", "user_ids": [carol.id]}])
        # A member who is not an admin cannot delete someone else's.
        self.refused(self.delete(c, bobs["id"]), "not_allowed")
        self.refused(self.delete(b1, carols["id"]), "not_allowed")

        deleted = self.assertTombstone(self.ok(self.delete(b1, bobs["id"])), of=bobs)
        self.assertEqual(deleted["edited_at"], edited["edited_at"], "edited_at stays")
        self.assertEqual(deleted["reply_to"]["id"], first["id"], "reply_to stays")
        self.assertGreater(deleted["updated_seq"], carols["seq"])
        for socket in (a, b2, c):
            payload, _ = socket.wait_for("message:updated", lambda m: m["deleted"])
            self.assertEqual(payload, deleted)
        # Deleting a tombstone (the sender again, or an admin) changes nothing: no seq, no event.
        self.assertEqual(self.delete(b1, bobs["id"]), {"ok": True, "message": deleted})
        self.assertEqual(self.delete(a, bobs["id"]), {"ok": True, "message": deleted})
        # Neither can be undone: no edits or reactions on a tombstone.
        self.refused(self.edit(b1, bobs["id"], "back again"), "not_allowed")
        self.refused(self.react(c, bobs["id"], "👍"), "not_allowed")
        self.refused(self.react(a, bobs["id"], "❤️"), "not_allowed")

        # An admin deletes someone else's message.
        by_admin = self.assertTombstone(self.ok(self.delete(a, carols["id"])), of=carols)
        self.assertEqual(by_admin["updated_seq"], deleted["updated_seq"] + 1,
                         "the refusals and no-ops took no seq")
        for socket in (b2, c):
            self.assertEqual(socket.next_payload("message:updated"), by_admin,
                             "the next event after the first delete is the admin's")
        self.assertEqual(b1.next_payload("message:updated"), by_admin)
        self.assertEqual(b1.payloads("message:updated"), [reacted_at_b1, by_admin],
                         "b1 edited and deleted: it has the acks of those")
        self.assertEqual(self.full_history(carol, group), [first, deleted, by_admin])
        self.assertEqual(self.conversation_of(bob, group)["last_message"], by_admin)
        self.assertEqual(self.conversation_of(bob, group)["seq"], by_admin["updated_seq"])

    def test_direct_conversations_have_no_admins_and_tombstones_are_not_unread(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        direct = self.direct(alice, bob)
        one = self.send(a, direct, "one")
        two = self.send(a, direct, "two")
        self.assertEqual(self.conversation_of(bob, direct)["unread_count"], 2)
        self.refused(self.delete(b, one["id"]), "not_allowed")
        tombstone = self.assertTombstone(self.ok(self.delete(a, one["id"])), of=one)
        self.assertEqual(b.wait_for("message:updated", lambda m: True)[0], tombstone)
        listed = self.conversation_of(bob, direct)
        self.assertEqual(listed["unread_count"], 1, "a tombstone is not unread")
        self.assertEqual(listed["last_message"], two)
        self.assertEqual(self.full_history(bob, direct), [tombstone, two])


class ReactionTest(LogCase):
    def test_which_emoji_are_reactions(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        message = self.send(b, conversation, "react to me")
        for emoji in BAD_EMOJI:
            with self.subTest(emoji=emoji):
                self.refused(self.react(a, message["id"], emoji), "bad_request")
        self.refused(a.ack("reaction:set", {"message_id": message["id"]}), "bad_request")
        self.assertEqual(self.full_history(alice, conversation), [message], "no seq taken")
        for emoji in GOOD_EMOJI:
            with self.subTest(emoji=emoji):
                state = self.ok(self.react(a, message["id"], emoji))
                self.assertEqual(state["reactions"], [{"emoji": emoji, "user_ids": [alice.id]}],
                                 "one reaction per user: the new one replaces the old")
                self.assertEqual(b.next_payload("message:updated"), state)
        self.assertEqual(state["updated_seq"], message["seq"] + len(GOOD_EMOJI))

    def test_reaction_rules_and_order(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        watcher = self.chat(alice)
        group = self.group(alice, bob, carol)["id"]
        message = self.send(c, group, "react to me")
        mid = message["id"]
        # No normalisation: ❤ and ❤️ are two reactions.
        self.ok(self.react(a, mid, "❤"))
        state = self.ok(self.react(b, mid, "❤️"))
        self.assertEqual(state["reactions"], [{"emoji": "❤", "user_ids": [alice.id]},
                                              {"emoji": "❤️", "user_ids": [bob.id]}])
        # Emoji in order of first use, user ids in the order they reacted.
        self.ok(self.react(a, mid, "👍"))
        self.ok(self.react(c, mid, "😀"))
        state = self.ok(self.react(b, mid, "👍"))
        self.assertEqual(state["reactions"], [{"emoji": "👍", "user_ids": [alice.id, bob.id]},
                                              {"emoji": "😀", "user_ids": [carol.id]}])
        # null removes the caller's; the same reaction again and removing none change nothing.
        state = self.ok(self.react(a, mid, None))
        self.assertEqual(state["reactions"], [{"emoji": "👍", "user_ids": [bob.id]},
                                              {"emoji": "😀", "user_ids": [carol.id]}])
        self.assertEqual(self.react(a, mid, None), {"ok": True, "message": state})
        self.assertEqual(self.react(b, mid, "👍"), {"ok": True, "message": state})
        self.assertEqual(self.react(c, mid, "😀"), {"ok": True, "message": state})
        # An emoji whose last user removed it goes to the end when used again.
        self.ok(self.react(b, mid, None))
        state = self.ok(self.react(a, mid, "👍"))
        self.assertEqual(state["reactions"], [{"emoji": "😀", "user_ids": [carol.id]},
                                              {"emoji": "👍", "user_ids": [alice.id]}])
        self.assertEqual(state["updated_seq"], message["seq"] + 8, "the no-ops took no seq")
        # The watcher (Alice's other socket) saw every change once, the no-ops never.
        updates = [watcher.next_payload("message:updated") for _ in range(8)]
        self.assertEqual([u["updated_seq"] for u in updates], list(range(message["seq"] + 1,
                                                                         message["seq"] + 9)))
        self.assertEqual(updates[-1], state)
        self.flush(watcher, alice)
        self.assertEqual(len(watcher.payloads("message:updated")), 8)
        self.assertEqual(self.full_history(bob, group), [state])
        # Not a member: not_found.
        outsider = self.chat(self.user("Olivia"))
        self.refused(self.react(outsider, mid, "👍"), "not_found")


class ReplyTest(LogCase):
    def test_replies_and_their_quotes(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, carol)["id"]
        other = self.group(alice, bob, carol, title="Other")["id"]
        original = self.send(a, group, "the original")
        long = self.send(a, group, "😀é" * 75)
        elsewhere = self.send(a, other, "in another conversation")

        reply = self.send(b, group, "a reply", reply_to=original["id"])
        self.assertEqual(reply["reply_to"], {"id": original["id"], "sender_id": alice.id,
                                             "body": "the original", "deleted": False})
        self.assertEqual(a.wait_for("message", lambda m: m["id"] == reply["id"])[0], reply)
        to_long = self.send(b, group, "to the long one", reply_to=long["id"])
        self.assertEqual(to_long["reply_to"]["body"], ("😀é" * 75)[:100], "100 characters")

        # reply_to must be a message of the same conversation.
        for reply_to in (elsewhere["id"], 10 ** 12):
            self.refused(b.ack("message:send", self.send_payload(group, "bad", reply_to=reply_to)),
                         "bad_request")
        # With "to" too (a direct conversation).
        first = self.ok(a.ack("message:send", self.send_payload(None, "direct hello", to=bob.id)))
        direct_reply = self.ok(b.ack("message:send", self.send_payload(
            None, "direct reply", to=alice.id, reply_to=first["id"])))
        self.assertEqual(direct_reply["reply_to"]["id"], first["id"])
        self.refused(b.ack("message:send", self.send_payload(
            None, "cross", to=alice.id, reply_to=original["id"])), "bad_request")

        # An edit of the quoted message shows in later answers; the reply's updated_seq stays,
        # and the reply gets no message:updated of its own.
        edited = self.ok(self.edit(a, original["id"], "the original, edited"))
        self.assertEqual(b.next_payload("message:updated"), edited)
        history = {m["id"]: m for m in self.full_history(bob, group)}
        self.assertEqual(history[reply["id"]]["reply_to"]["body"], "the original, edited")
        self.assertEqual(history[reply["id"]]["updated_seq"], reply["updated_seq"])
        deleted = self.ok(self.delete(a, original["id"]))
        self.assertEqual(b.next_payload("message:updated"), deleted, "only the quoted one changed")
        history = {m["id"]: m for m in self.full_history(bob, group)}
        self.assertEqual(history[reply["id"]]["reply_to"], {"id": original["id"],
                                                            "sender_id": alice.id, "body": "",
                                                            "deleted": True})
        self.assertEqual(history[reply["id"]]["updated_seq"], reply["updated_seq"])
        # Replying to a tombstone is allowed; its quote says so.
        to_tombstone = self.send(b, group, "to the deleted one", reply_to=original["id"])
        self.assertEqual(to_tombstone["reply_to"], {"id": original["id"], "sender_id": alice.id,
                                                    "body": "", "deleted": True})
        # sync from the start agrees with the history.
        synced = self.sync(b, {group: 0})
        self.assertEqual(sorted(synced["messages"], key=lambda m: m["id"]),
                         self.full_history(bob, group))
        self.flush(b, bob)
        self.assertEqual(b.payloads("message:updated"), [edited, deleted])


class HistoryReadAgainTest(LogCase):
    """A history page read again after each kind of change shows the change. The server keeps
    the messages it has written out for history pages, so an answer built from one kept before
    the change would be out of date: each page here is read twice (the second read finds what
    the first kept) and must equal the messages the changes' acknowledgements carried."""

    def test_every_change_shows_in_a_page_read_again(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob)["id"]
        quoted = self.send(a, group, "quoted")
        reply = self.send(b, group, "a reply", reply_to=quoted["id"])
        plain = self.send(b, group, "plain")
        current = {message["id"]: message for message in (quoted, reply, plain)}

        def read_twice():
            # Pages of one message first: a reply's page then does not hold the quoted message,
            # so only the reply's own version can tell that its quote changed.
            expected = [current[key] for key in sorted(current)]
            for _ in range(2):
                self.assertEqual(self.full_history(bob, group, limit=1), expected)
                self.assertEqual(self.full_history(alice, group), expected)

        read_twice()
        current[quoted["id"]] = self.ok(self.edit(a, quoted["id"], "quoted, edited"))
        current[reply["id"]]["reply_to"]["body"] = "quoted, edited"  # its quote, not the reply
        read_twice()
        current[plain["id"]] = self.ok(self.react(a, plain["id"], "👍"))
        read_twice()
        current[plain["id"]] = self.ok(self.react(b, plain["id"], "🎉"))
        read_twice()
        current[plain["id"]] = self.ok(self.react(a, plain["id"], None))
        self.assertEqual(current[plain["id"]]["reactions"], [{"emoji": "🎉", "user_ids": [bob.id]}])
        read_twice()
        current[reply["id"]] = self.ok(self.edit(b, reply["id"], "a reply, edited"))
        read_twice()
        current[quoted["id"]] = self.ok(self.delete(a, quoted["id"]))
        current[reply["id"]]["reply_to"].update(body="", deleted=True)
        read_twice()
        later = self.send(a, group, "later")
        current[later["id"]] = later
        read_twice()
        # A page starting between kept messages (before=) is cut from the same texts.
        page = self.history_page(alice, group, before=plain["id"], limit=1)
        self.assertEqual(page, {"messages": [current[reply["id"]]], "has_more": True})
        # The metrics say that texts were kept and found (and so that the reads above used them).
        metrics = self.server.get("/metrics").body.decode()
        for name in ("parley_message_texts_hits_total", "parley_message_texts_misses_total",
                     "parley_message_texts_bytes"):
            value = re.search(rf"^{name} (\S+)$", metrics, re.M)
            self.assertIsNotNone(value, name)
            self.assertGreater(float(value.group(1)), 0, name)


class RaceTest(LogCase):
    flags = ("--message-rate", "0", *change_rate_off())

    def test_two_sockets_of_one_user_reacting_at_once_leave_one_reaction(self):
        alice, bob = self.users("Alice", "Bob")
        a, b1, b2 = self.chat(alice), self.chat(bob), self.chat(bob)
        conversation = self.direct(alice, bob)
        for round_ in range(12):
            message = self.send(a, conversation, f"round {round_}")
            one, two = emit_together([(b1, "reaction:set", {"message_id": message["id"], "emoji": "👍"}),
                                      (b2, "reaction:set", {"message_id": message["id"], "emoji": "😀"})])
            one, two = self.ok(one), self.ok(two)
            last = max(one, two, key=lambda m: m["updated_seq"])
            self.assertNotEqual(one["updated_seq"], two["updated_seq"])
            history = {m["id"]: m for m in self.full_history(alice, conversation)}
            self.assertEqual(history[message["id"]], last)
            self.assertEqual(len(last["reactions"]), 1, last)
            self.assertEqual(last["reactions"][0]["user_ids"], [bob.id])
            seen, _ = a.wait_for("message:updated", lambda m: m["updated_seq"] == last["updated_seq"])
            self.assertEqual(seen, last)

    def test_an_edit_and_a_delete_racing_leave_a_tombstone(self):
        alice, bob = self.users("Alice", "Bob")
        a1, a2, b = self.chat(alice), self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        for round_ in range(12):
            message = self.send(a1, conversation, f"round {round_}")
            edit, delete = emit_together([
                (a1, "message:edit", {"message_id": message["id"], "body": f"edited {round_}"}),
                (a2, "message:delete", {"message_id": message["id"]})])
            tombstone = self.assertTombstone(self.ok(delete), of=message)
            if edit.get("ok"):
                edited = self.ok(edit)
                self.assertLess(edited["updated_seq"], tombstone["updated_seq"])
                self.assertEqual(tombstone["edited_at"], edited["edited_at"])
            else:
                self.refused(edit, "not_allowed")
                self.assertIsNone(tombstone["edited_at"])
            history = {m["id"]: m for m in self.full_history(bob, conversation)}
            self.assertEqual(history[message["id"]], tombstone)
            seen, _ = b.wait_for("message:updated", lambda m: m["id"] == message["id"] and m["deleted"])
            self.assertEqual(seen, tombstone)

    def test_two_admins_removing_each_other_leave_a_consistent_group(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        a, b = self.chat(alice), self.chat(bob)
        for round_ in range(6):
            group = self.group(alice, bob, carol, dave, title=f"Round {round_}")["id"]
            self.conversation_answer(self.set_admin(alice, group, bob, True))
            first, second = run_together(lambda: self.remove_member(alice, group, bob),
                                         lambda: self.remove_member(bob, group, alice))
            statuses = sorted([first.status, second.status])
            views = [self.conversation_of(user, group) for user in (carol, dave)]
            self.assertSameConversation(views[0], views[1], viewer_fields=False)
            members = set(self.members_of(views[0]))
            self.assertTrue(self.admins_of(views[0]), "a group always keeps an admin")
            if statuses == [204, 204]:
                # Both removals committed: neither is left, and an admin was appointed.
                self.assertEqual(members, {carol.id, dave.id})
            else:
                self.assertEqual(statuses, [204, 404], (first, second))
                loser = (bob if first.status == 204 else alice)
                winner = alice if loser is bob else bob
                self.assertEqual(members, {winner.id, carol.id, dave.id})
                self.assertEqual(self.admins_of(views[0]), [winner.id])
                self.assertEqual(self.history_status(loser, group), 404)
                self.assertEqual(self.history_status(winner, group), 200)
                self.assertSameConversation(self.conversation_of(winner, group), views[0],
                                            viewer_fields=False)
                loser_socket = a if loser is alice else b
                loser_socket.wait_for("conversation:left", lambda p: p["conversation_id"] == group)


class RateLimitTest(LogCase):
    def assertBurstLimited(self, acks, what):
        """Some of ``acks`` accepted, the others refused as rate_limited (neither none); returns
        the messages of the accepted ones."""
        accepted = [self.ok(ack) for ack in acks if ack.get("ok")]
        limited = [ack for ack in acks if not ack.get("ok")]
        self.assertTrue(accepted)
        self.assertTrue(limited, f"200 {what} at once are over any burst")
        for ack in limited:
            self.refused(ack, "rate_limited")
        return accepted

    def test_changes_are_limited_per_user_though_sends_are_not(self):
        # --message-rate 0 lifts only the send limit.
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        conversation = self.direct(alice, bob)
        message = self.send(a, conversation, "react to me")
        emoji = ["👍", "😀"]
        acks = emit_together([(a, "reaction:set", {"message_id": message["id"], "emoji": emoji[n % 2]})
                              for n in range(200)])
        accepted = self.assertBurstLimited(acks, "reactions")
        last = max(accepted, key=lambda m: m["updated_seq"])
        self.assertEqual(self.full_history(bob, conversation), [last], "refused ones changed nothing")
        # Each accepted reaction that changed Alice's took the next seq; one accepted after
        # refused ones may repeat the emoji she already has (a token came back mid-burst, and
        # the emoji alternate by position), which succeeds without a seq (API.md). So the
        # positions taken are exactly seq+1 … seq+k, k the changes, and none by a refusal.
        taken = sorted({m["updated_seq"] for m in accepted})
        self.assertEqual(taken, list(range(message["seq"] + 1, message["seq"] + 1 + len(taken))))
        self.assertEqual(last["updated_seq"], message["seq"] + len(taken))
        for ack in accepted:
            mine = [r["emoji"] for r in ack["reactions"] if alice.id in r["user_ids"]]
            self.assertEqual(len(mine), 1, ack)
        # Someone else is not limited by Alice's reactions, and sends are not limited.
        self.ok(self.react(b, message["id"], "👍"))
        sends = a.send_many([self.send_payload(conversation, f"send {n}") for n in range(100)], 100)
        for ack in sends:
            self.ok(ack)
        edits = emit_together([(b, "message:edit", {"message_id": self.ok(sends[0])["id"],
                                                     "body": f"edit {n}"}) for n in range(5)])
        for ack in edits:
            self.refused(ack, "not_allowed")
        own = self.ok(sends[-1])
        edits = emit_together([(a, "message:edit", {"message_id": own["id"], "body": f"edit {n}"})
                               for n in range(200)])
        accepted = self.assertBurstLimited(edits, "edits")
        last = max(accepted, key=lambda m: m["updated_seq"])
        self.assertEqual(self.full_history(bob, conversation)[-1], last)


if __name__ == "__main__":
    unittest.main()
