"""Groups and catching up (API.md v2: "Groups", "Catching up: sync"), end to end with
Debian's python3-socketio and REST: the group calls and their permissions, the `conversation`
and `conversation:left` events, what removed and later-added members see, and `sync` after
offline changes (paging, left conversations, new ones).

"Receives nothing" is proven in wire order, never with a sleep (see log_support.LogCase.flush).
"""

import unittest

from log_support import (
    LogCase,
    change_rate_off,
)


class GroupCallsTest(LogCase):
    def test_creation_and_the_admin_calls(self):
        alice, bob, carol, dave, erin = self.users("Alice", "Bob", "Carol", "Dave", "Erin")
        a1, a2, b, c, d = (self.chat(alice), self.chat(alice), self.chat(bob), self.chat(carol),
                           self.chat(dave))
        created = self.group(alice, bob, carol, title="Team")
        group = created["id"]
        self.assertEqual(created["seq"], 1, "the creation is the group's first change")
        self.assertEqual(self.admins_of(created), [alice.id], "the creator is the first admin")
        self.assertEqual(set(self.members_of(created)), {alice.id, bob.id, carol.id})
        for member in created["members"]:
            self.assertEqual((member["read_up_to"], member["delivered_up_to"]), (0, 0), member)
        self.assertIsNone(created["last_message"])
        for socket, user in ((a1, alice), (a2, alice), (b, bob), (c, carol)):
            event = socket.next_payload("conversation")
            self.assertSameConversation(event, self.conversation_of(user, group))
            self.assertEqual((event["id"], event["seq"], event["title"]), (group, 1, "Team"))

        # Not an admin: 403 not_allowed, for every call.
        for response in (self.rename(bob, group, "Mine"), self.add_members(bob, group, dave),
                         self.remove_member(bob, group, carol), self.set_admin(bob, group, carol, True),
                         self.set_admin(bob, group, bob, True), self.set_admin(bob, group, alice, False)):
            self.assertError(response, 403, "not_allowed")
        # Not a member, or no such group: 404 not_found (existence is not leaked).
        for conversation in (group, 10 ** 9):
            for response in (self.rename(erin, conversation, "Mine"),
                             self.add_members(erin, conversation, dave),
                             self.remove_member(erin, conversation, carol),
                             self.set_admin(erin, conversation, erin, True)):
                self.assertError(response, 404, "not_found")
        for response in (self.rename(alice, 10 ** 9, "x"), self.add_members(alice, 10 ** 9, dave),
                         self.remove_member(alice, 10 ** 9, bob), self.set_admin(alice, 10 ** 9, bob, True)):
            self.assertError(response, 404, "not_found")

        # Rename: every member's sockets, the actor's included (REST).
        renamed = self.conversation_answer(self.rename(alice, group, "  Team 2  "))
        self.assertEqual((renamed["title"], renamed["seq"]), ("Team 2", 2))
        for socket, user in ((a1, alice), (a2, alice), (b, bob), (c, carol)):
            event = socket.next_payload("conversation")
            self.assertSameConversation(event, self.conversation_of(user, group))
            self.assertEqual((event["title"], event["seq"]), ("Team 2", 2))
        self.assertEqual(self.conversation_answer(self.rename(alice, group, "Team 2")), renamed,
                         "the same title: no change")
        for title in ("", "   ", "x" * 101, None, 5):
            self.assertError(self.rename(alice, group, title), 400, "bad_request")
        self.assertError(self.api("PATCH", f"/conversations/{group}", {}, alice), 400, "bad_request")

        # Members: add, again (no change), someone who does not exist, bad bodies.
        added = self.conversation_answer(self.add_members(alice, group, dave))
        self.assertEqual(added["seq"], 3)
        self.assertEqual(set(self.members_of(added)), {alice.id, bob.id, carol.id, dave.id})
        self.assertIs(self.members_of(added)[dave.id]["admin"], False)
        for socket, user in ((a1, alice), (b, bob), (d, dave)):
            event = socket.next_payload("conversation")
            self.assertSameConversation(event, self.conversation_of(user, group))
            self.assertEqual(event["seq"], 3)
        self.assertEqual(self.conversation_answer(self.add_members(alice, group, dave, bob)), added)
        self.assertError(self.add_members(alice, group, 10 ** 9), 404, "user_not_found")
        for body in ({}, {"user_ids": []}, {"user_ids": "x"}, {"user_ids": ["5"]},
                     {"user_ids": [0]}, {"user_ids": [-1]}, {"user_ids": [1.5]}, {"user_ids": [2 ** 63]}):
            self.assertError(self.api("POST", f"/conversations/{group}/members", body, alice),
                             400, "bad_request")
        # Someone who is not a member: 404, whether removed or made admin.
        self.assertError(self.remove_member(alice, group, erin), 404, "not_found")
        self.assertError(self.remove_member(alice, group, 10 ** 9), 404, "not_found")
        self.assertError(self.set_admin(alice, group, erin, True), 404, "not_found")
        for body in ({}, {"admin": "yes"}, {"admin": 1}, {"admin": None}):
            self.assertError(self.api("PATCH", f"/conversations/{group}/members/{bob.id}", body, alice),
                             400, "bad_request")

        # Admins: Bob is made one and can then act; the last admin cannot step down.
        promoted = self.conversation_answer(self.set_admin(alice, group, bob, True))
        self.assertEqual(self.admins_of(promoted), sorted([alice.id, bob.id]))
        self.assertEqual(self.conversation_answer(self.set_admin(alice, group, bob, True)), promoted)
        self.conversation_answer(self.rename(bob, group, "Bob's now"))
        # No-ops sent no event: Bob's next ones are the promotion and his own rename (REST: the
        # actor's sockets hear of it too).
        self.assertEqual([b.next_payload("conversation")["seq"] for _ in range(2)], [4, 5])
        stepped_down = self.conversation_answer(self.set_admin(alice, group, alice, False))
        self.assertEqual(self.admins_of(stepped_down), [bob.id])
        self.assertError(self.set_admin(bob, group, bob, False), 403, "not_allowed")
        self.assertError(self.rename(alice, group, "Alice again"), 403, "not_allowed")
        final = self.conversation_of(carol, group)
        self.assertEqual(final["seq"], 6, "creation, rename, add, promote, rename, step down")
        self.assertEqual(self.admins_of(final), [bob.id])
        self.assertEqual(final["title"], "Bob's now")

    def test_the_last_admin_cannot_step_down_even_alone(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        group = self.group(alice, bob, carol)["id"]
        self.assertEqual(self.leave(bob, group).status, 204)
        self.assertEqual(self.leave(carol, group).status, 204)
        self.assertEqual(set(self.members_of(self.conversation_of(alice, group))), {alice.id})
        self.assertError(self.set_admin(alice, group, alice, False), 403, "not_allowed")
        self.assertEqual(self.admins_of(self.conversation_of(alice, group)), [alice.id])

    def test_direct_conversations_refuse_group_calls(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        direct = self.direct(alice, bob)
        self.send(self.chat(alice), direct, "so it shows")
        for response in (self.rename(alice, direct, "Title"), self.add_members(alice, direct, carol),
                         self.remove_member(alice, direct, bob), self.leave(alice, direct),
                         self.leave(bob, direct), self.set_admin(alice, direct, alice, True),
                         self.set_admin(alice, direct, bob, True)):
            self.assertError(response, 400, "bad_request")
        listed = self.conversation_of(bob, direct)
        self.assertEqual(set(self.members_of(listed)), {alice.id, bob.id})
        self.assertEqual(self.admins_of(listed), [])

    def test_group_size_limit(self):
        config = self.server.get("/api/v1/config").json()
        self.assertEqual(config["max_group_members"], 101)
        alice = self.user("Alice")
        people = self.import_users(1_102)
        ids = [person["id"] for person in people]
        # 101 members in all, the creator included: the most.
        full = self.api("POST", "/conversations", {"members": ids[:100], "title": "Full"}, alice)
        self.assertEqual(full.status, 201, full)
        full = full.json()["conversation"]
        self.assertEqual(len(full["members"]), 101)
        self.assertError(self.add_members(alice, full["id"], ids[100]), 400, "bad_request")
        self.assertError(self.api("POST", "/conversations", {"members": ids[:101], "title": "Over"},
                                  alice), 400, "bad_request")
        # Adding 1,001 members at once to a small group.
        small = self.group(alice, *self.users("Bob", "Carol"), title="Small")
        self.assertError(self.add_members(alice, small["id"], *ids[100:1101]), 400, "bad_request")
        # 3 + 99 is one too many; 3 + 98 is the most.
        self.assertError(self.add_members(alice, small["id"], *ids[100:199]), 400, "bad_request")
        self.assertSameConversation(self.conversation_of(alice, small["id"]), small)
        grown = self.conversation_answer(self.add_members(alice, small["id"], *ids[100:198]))
        self.assertEqual(len(grown["members"]), 101)
        self.assertError(self.add_members(alice, small["id"], ids[1101]), 400, "bad_request")


class MembershipTest(LogCase):
    def test_a_removed_member_hears_nothing_more_and_cannot_read(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b1, b2, c = self.chat(alice), self.chat(bob), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        before = self.send(c, group, "before the removal")
        bobs_own = self.send(b1, group, "Bob's own")
        for socket in (b1, b2):
            socket.wait_for("message", lambda m: m["id"] == before["id"])

        self.assertEqual(self.remove_member(alice, group, bob).status, 204)
        for socket in (b1, b2):
            self.assertEqual(socket.next_payload("conversation:left"), {"conversation_id": group})
        for socket, user in ((a, alice), (c, carol)):
            event, _ = socket.wait_for("conversation", lambda v: bob.id not in self.members_of(v))
            self.assertSameConversation(event, self.conversation_of(user, group))

        # Everything that can happen in the group afterwards.
        after = self.send(c, group, "after the removal")
        self.assertEqual(a.wait_for("message", lambda m: m["id"] == after["id"])[0], after)
        self.ok(self.edit(c, before["id"], "edited after the removal"))
        self.ok(self.react(a, bobs_own["id"], "👍"))
        self.ok(self.delete(a, bobs_own["id"]))
        self.conversation_answer(self.rename(alice, group, "Without Bob"))
        self.assertEqual(a.ack("message:read", {"conversation_id": group, "up_to": after["id"]}),
                         {"ok": True})
        c.emit("typing", {"conversation_id": group, "typing": True})
        # Carol's typing reached Alice, so it went out to whoever it was for.
        typing, _ = a.wait_for("typing", lambda t: t["conversation_id"] == group)
        self.assertEqual(typing, {"conversation_id": group, "user_id": carol.id, "typing": True})
        c.wait_for("conversation", lambda v: v["title"] == "Without Bob")
        for socket in (b1, b2):
            self.flush(socket, bob)
            self.assertNothingAfterLeft(socket, group)

        # REST and the socket calls: the group is gone for Bob.
        self.assertError(self.api("GET", f"/conversations/{group}/messages", user=bob), 404, "not_found")
        self.assertIsNone(self.conversation_of(bob, group))
        self.refused(b1.ack("message:send", self.send_payload(group, "still here?")), "not_found")
        self.refused(self.edit(b1, before["id"], "x"), "not_found")
        self.refused(self.react(b1, after["id"], "👍"), "not_found")
        self.refused(self.delete(b1, after["id"]), "not_found")
        self.refused(b1.ack("message:send", self.send_payload(
            None, "quoting", to=alice.id, reply_to=after["id"])), "bad_request")
        answer = self.sync(b1, {group: 0})
        self.assertEqual((answer["messages"], answer["left"]), ([], [group]))
        self.assertNotIn(group, [conversation["id"] for conversation in answer["conversations"]])
        # Nor for a socket Bob opens now.
        b3 = self.chat(bob)
        later = self.send(c, group, "later still")
        a.wait_for("message", lambda m: m["id"] == later["id"])
        self.flush(b3, bob)
        self.assertEqual(self.about(b3, group), [])
        self.assertEqual(self.about(b1, group, {"message"}), [("message", before)])

    def test_leaving(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        self.assertEqual(self.leave(carol, group).status, 204)
        self.assertEqual(c.next_payload("conversation:left"), {"conversation_id": group})
        for socket, user in ((a, alice), (b, bob)):
            event, _ = socket.wait_for("conversation", lambda v: carol.id not in self.members_of(v))
            self.assertSameConversation(event, self.conversation_of(user, group))
        after = self.send(b, group, "Carol has gone")
        a.wait_for("message", lambda m: m["id"] == after["id"])
        self.flush(c, carol)
        self.assertNothingAfterLeft(c, group)
        self.assertEqual(self.history_status(carol, group), 404)
        self.assertError(self.leave(carol, group), 404, "not_found")

    def test_a_member_added_later_sees_only_what_follows(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        a, b, d = self.chat(alice), self.chat(bob), self.chat(dave)
        group = self.group(alice, bob, carol)["id"]
        older = self.send(a, group, "before Dave")
        older_reply = self.send(b, group, "also before Dave", reply_to=older["id"])
        self.ok(self.react(b, older["id"], "👍"))

        added = self.conversation_answer(self.add_members(alice, group, dave))
        event = d.next_payload("conversation")
        self.assertSameConversation(event, self.conversation_of(dave, group))
        self.assertEqual(event["seq"], added["seq"])
        self.assertIsNone(event["last_message"], "nothing from before Dave joined")
        self.assertEqual(event["unread_count"], 0)
        self.assertEqual(self.full_history(dave, group), [])
        self.assertEqual(self.sync(d, {group: 0})["messages"], [])
        # Older messages are not_found to him (and no reply to them).
        for message in (older, older_reply):
            self.refused(self.edit(d, message["id"], "x"), "not_found")
            self.refused(self.delete(d, message["id"]), "not_found")
            self.refused(self.react(d, message["id"], "👍"), "not_found")
            self.refused(d.ack("message:send", self.send_payload(group, "re", reply_to=message["id"])),
                         "bad_request")
        # A change to an older message after he joined is not his to see either.
        changed = self.ok(self.edit(a, older["id"], "before Dave, edited after"))
        self.ok(self.react(a, older_reply["id"], "❤️"))
        self.assertEqual(b.next_payload("message:updated")["id"], older["id"])
        self.assertGreater(changed["updated_seq"], added["seq"])
        after = self.send(a, group, "welcome Dave")
        self.assertEqual(d.next_payload("message"), after)
        self.flush(d, dave)
        self.assertEqual(d.payloads("message:updated"), [],
                         "no message:updated of messages from before Dave joined")
        self.assertEqual(self.full_history(dave, group), [after])
        listed = self.conversation_of(dave, group)
        self.assertEqual((listed["last_message"], listed["unread_count"]), (after, 1))
        synced = self.sync(d, {group: 0})
        self.assertEqual(synced["messages"], [after])
        self.assertEqual(self.sync_to_present(d, {group: event["seq"]})[0], [after])

    def test_a_member_added_back_hears_again_from_then_on(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        first = self.send(c, group, "first")
        self.assertEqual(b.next_payload("message"), first)
        self.assertEqual(self.remove_member(alice, group, bob).status, 204)
        self.assertEqual(b.next_payload("conversation:left"), {"conversation_id": group})
        missed = self.send(c, group, "while Bob was out")
        readded = self.conversation_answer(self.add_members(alice, group, bob))
        back = b.wait_for("conversation", lambda v: v["id"] == group and v["seq"] == readded["seq"])[0]
        self.assertSameConversation(back, self.conversation_of(bob, group))
        self.assertIsNone(back["last_message"], "nothing from before he came back")
        welcome = self.send(c, group, "welcome back")
        self.assertEqual(b.wait_for("message", lambda m: m["conversation_id"] == group)[0], welcome,
                         "his socket hears of the group again, from the addition on")
        edited = self.ok(self.edit(c, welcome["id"], "welcome back, edited"))
        self.assertEqual(b.next_payload("message:updated"), edited)
        self.assertEqual(self.full_history(bob, group), [edited])
        for message in (first, missed):
            self.refused(self.react(b, message["id"], "👍"), "not_found")
        self.assertEqual(self.sync(b, {group: 0})["messages"], [edited])
        self.assertEqual([m["id"] for m in b.payloads("message") if m["conversation_id"] == group],
                         [first["id"], welcome["id"]])
        del a

    def test_the_longest_standing_member_becomes_admin_when_the_last_admin_leaves(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        group = self.group(alice, bob, carol)["id"]
        # Bob leaves and comes back: Carol (there since the creation) is now the longest-standing
        # member, though Bob has the lower user id; Dave joins last.
        self.assertEqual(self.remove_member(alice, group, bob).status, 204)
        self.conversation_answer(self.add_members(alice, group, bob))
        self.conversation_answer(self.add_members(alice, group, dave))
        c = self.chat(carol)
        self.assertEqual(self.leave(alice, group).status, 204)
        event = c.next_payload("conversation")
        self.assertEqual(self.admins_of(event), [carol.id])
        self.assertEqual(self.admins_of(self.conversation_of(dave, group)), [carol.id])
        self.conversation_answer(self.rename(carol, group, "Carol's now"))
        # The last admin (Carol) leaving hands over to the longest-standing of Bob and Dave.
        self.assertEqual(self.leave(carol, group).status, 204)
        self.assertEqual(self.admins_of(self.conversation_of(dave, group)), [bob.id])

    def test_the_group_is_gone_when_its_last_member_leaves(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a = self.chat(alice)
        group = self.group(alice, bob, carol)["id"]
        message = self.send(a, group, "soon gone")
        self.assertEqual(self.leave(bob, group).status, 204)
        self.assertEqual(self.leave(carol, group).status, 204)
        self.assertEqual(self.leave(alice, group).status, 204)
        self.assertEqual(a.wait_for("conversation:left", lambda p: True)[0], {"conversation_id": group})
        for user in (alice, bob, carol):
            self.assertIsNone(self.conversation_of(user, group))
            self.assertError(self.api("GET", f"/conversations/{group}/messages", user=user), 404,
                             "not_found")
            self.assertError(self.add_members(user, group, bob), 404, "not_found")
            self.assertError(self.rename(user, group, "again"), 404, "not_found")
            self.assertError(self.leave(user, group), 404, "not_found")
        self.refused(self.edit(a, message["id"], "x"), "not_found")
        self.assertEqual(self.sync(a, {group: 0})["left"], [group])


class SyncTest(LogCase):
    def test_an_offline_device_syncs_to_exactly_one_tombstone_and_no_reaction(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, carol)["id"]
        doomed = self.send(a, group, "doomed")
        kept = self.send(a, group, "kept")
        offline = self.chat(alice)
        _, objects, _, cursors = self.sync_to_present(offline, {})
        self.assertEqual(cursors, {group: kept["seq"]})
        offline.disconnect()

        self.ok(self.edit(a, doomed["id"], "doomed, edited once"))
        self.ok(self.edit(a, doomed["id"], "doomed, edited twice"))
        self.ok(self.react(b, doomed["id"], "👍"))
        self.ok(self.react(b, doomed["id"], None))
        self.ok(self.react(a, kept["id"], "🎉"))
        self.ok(self.react(a, kept["id"], None))
        tombstone = self.ok(self.delete(a, doomed["id"]))
        kept_now = self.full_history(alice, group)[-1]

        back = self.chat(alice)
        answer = self.sync(back, cursors)
        self.assertIs(answer["has_more"], False)
        self.assertEqual(answer["messages"], [kept_now, tombstone])
        self.assertTombstone(tombstone, of=doomed)
        self.assertIsNotNone(tombstone["edited_at"])
        self.assertEqual(kept_now["reactions"], [])
        self.assertEqual(answer["left"], [])
        self.assertEqual(len(answer["conversations"]), 1)
        self.assertSameConversation(answer["conversations"][0], self.conversation_of(alice, group))
        self.assertEqual(answer["conversations"][0]["seq"], tombstone["updated_seq"])
        again = self.sync(back, {group: answer["conversations"][0]["seq"]})
        self.assertEqual((again["messages"], again["conversations"], again["has_more"]), ([], [], False))

    def test_an_offline_device_learns_of_its_removal_and_of_new_groups(self):
        alice, bob, carol, zed = self.users("Alice", "Bob", "Carol", "Zed")
        a = self.chat(alice)
        removed_from = self.group(alice, zed, bob, title="Removed from")["id"]
        stays = self.direct(alice, zed)
        self.send(a, stays, "hello Zed")
        not_his = self.group(alice, bob, carol, title="Not his")["id"]
        later_his = self.group(alice, bob, carol, title="Added later")["id"]
        before_zed = self.send(a, later_his, "before Zed")
        z = self.chat(zed)
        _, _, _, cursors = self.sync_to_present(z, {})
        self.assertEqual(set(cursors), {removed_from, stays})
        z.disconnect()

        self.send(a, removed_from, "before the removal")
        self.assertEqual(self.remove_member(alice, removed_from, zed).status, 204)
        self.send(a, removed_from, "after the removal")
        in_stays = self.send(a, stays, "while you were away")
        self.conversation_answer(self.add_members(alice, later_his, zed))
        after_zed = self.send(a, later_his, "after Zed")
        new_group = self.group(alice, zed, bob, title="Brand new")["id"]

        back = self.chat(zed)
        answer = self.sync(back, [*cursors.items(), (not_his, 0), (10 ** 9, 3)])
        self.assertEqual(sorted(answer["left"]), sorted([removed_from, not_his, 10 ** 9]),
                         "removed, never a member, no such conversation: all alike")
        self.assertEqual(answer["messages"], [in_stays])
        by_id = {conversation["id"]: conversation for conversation in answer["conversations"]}
        self.assertEqual(set(by_id), {stays, later_his, new_group})
        for conversation_id, conversation in by_id.items():
            self.assertSameConversation(conversation, self.conversation_of(zed, conversation_id))
        self.assertIn(zed.id, self.members_of(by_id[later_his]))
        self.assertEqual(by_id[later_his]["last_message"], after_zed)
        self.assertEqual(self.full_history(zed, later_his), [after_zed])
        self.assertNotIn(before_zed["id"], [m["id"] for m in self.sync(back, {later_his: 0})["messages"]])
        self.assertEqual(self.history_status(zed, removed_from), 404)

    def test_sync_pages_over_a_thousand_changes_in_twenty_conversations(self):
        alice, bob, zed = self.users("Alice", "Bob", "Zed")
        a, b = self.chat(alice), self.chat(bob)
        groups = [self.group(alice, bob, zed, title=f"G{n}")["id"] for n in range(20)]
        z = self.chat(zed)
        _, _, _, cursors = self.sync_to_present(z, {})
        self.assertEqual(cursors, {group: 1 for group in groups})
        z.disconnect()

        # 1,000 messages while Zed is away, then edits, reactions, deletes and renames.
        sent = {}
        for sender in (a, b):
            payloads = [self.send_payload(group, f"message {n} in {group}")
                        for group in groups for n in range(25)]
            for ack in sender.send_many(payloads, window=32):
                message = self.ok(ack)
                sent[message["id"]] = message
        self.assertEqual(len(sent), 1000)
        by_group = {group: sorted((m for m in sent.values() if m["conversation_id"] == group),
                                  key=lambda m: m["id"]) for group in groups}
        changes = 1000
        for index, group in enumerate(groups):
            alices = [m for m in by_group[group] if m["sender_id"] == alice.id]
            bobs = [m for m in by_group[group] if m["sender_id"] == bob.id]
            if index % 2 == 0:
                self.ok(self.edit(a, alices[0]["id"], f"edited in {group}"))
                self.ok(self.react(b, alices[0]["id"], "👍"))
                changes += 2
            else:
                self.ok(self.react(a, bobs[1]["id"], "❤️"))
                self.ok(self.delete(b, bobs[2]["id"]))
                changes += 2
        for group in groups[:3]:
            self.conversation_answer(self.rename(alice, group, f"Renamed {group}"))
        self.assertGreater(changes, 1000)

        back = self.chat(zed)
        page_sizes = []

        def check_page(answer):
            page_sizes.append(len(answer["messages"]))

        received, objects, left, final = self.sync_to_present(back, cursors, limit=37,
                                                              check_page=check_page)
        self.assertEqual(left, [])
        ids = [m["id"] for m in received]
        self.assertEqual(len(ids), len(set(ids)), "nothing repeated")
        self.assertEqual(len(received), 1000, "nothing lost")
        self.assertGreaterEqual(len(page_sizes), -(-1000 // 37))
        self.assertEqual(sum(page_sizes), 1000)
        current = {}
        for group in groups:
            for message in self.full_history(zed, group):
                current[message["id"]] = message
        self.assertEqual({m["id"]: m for m in received}, current, "each in its current state")
        self.assertEqual(set(objects), set(groups))
        for group in groups:
            self.assertSameConversation(objects[group], self.conversation_of(zed, group))
            self.assertEqual(final[group], objects[group]["seq"])
        quiet = self.sync(back, final)
        self.assertEqual((quiet["messages"], quiet["conversations"], quiet["left"], quiet["has_more"]),
                         ([], [], [], False))


    def test_message_updated_and_sync_carry_the_same_json(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a, b, c = self.chat(alice), self.chat(bob), self.chat(carol)
        group = self.group(alice, bob, carol)["id"]
        quoted = self.send(c, group, "quoted")
        message = self.send(a, group, "changing", reply_to=quoted["id"])
        doomed = self.send(c, group, "doomed")
        offline = self.chat(bob)
        _, _, _, cursors = self.sync_to_present(offline, {group: 0})
        offline.disconnect()

        self.ok(self.edit(a, message["id"], "changed"))
        self.ok(self.react(b, message["id"], "👍"))
        last = self.ok(self.react(c, message["id"], "❤️"))
        gone = self.ok(self.delete(c, doomed["id"]))
        live = {}
        while live.get(message["id"], {}).get("updated_seq") != last["updated_seq"] \
                or doomed["id"] not in live:
            update = b.next_payload("message:updated")
            live[update["id"]] = update
        answer = self.sync(self.chat(bob), cursors)
        self.assertEqual(answer["messages"], [live[message["id"]], live[doomed["id"]]])
        self.assertEqual(live[message["id"]], last)
        self.assertEqual(live[doomed["id"]], gone)
        history = {m["id"]: m for m in self.full_history(bob, group)}
        self.assertEqual(history[message["id"]], last)
        self.assertEqual(history[doomed["id"]], gone)

    def test_sync_input(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        a = self.chat(alice)
        group = self.group(alice, bob, carol)["id"]
        first = self.send(a, group, "one")
        second = self.send(a, group, "two")
        for payload in ({}, {"cursors": None}, {"cursors": {}}, {"cursors": [5]},
                        {"cursors": [{"conversation_id": group}]},
                        {"cursors": [{"seq": 0}]},
                        {"cursors": [{"conversation_id": group, "seq": -1}]},
                        {"cursors": [{"conversation_id": group, "seq": "0"}]},
                        {"cursors": [{"conversation_id": "1", "seq": 0}]},
                        {"cursors": [], "limit": 0}, {"cursors": [], "limit": 501},
                        {"cursors": [], "limit": "5"}, {"cursors": [], "limit": 1.5}):
            with self.subTest(payload=payload):
                self.refused(a.ack("sync", payload), "bad_request")
        self.refused(a.ack("sync", [1]), "bad_request")
        # No cursors: every conversation's object, no messages.
        answer = self.sync(a, {})
        self.assertEqual(answer["messages"], [])
        self.assertEqual(len(answer["conversations"]), 1)
        self.assertSameConversation(answer["conversations"][0], self.conversation_of(alice, group))
        self.assertEqual(self.sync(a, {group: 0}, limit=500)["messages"], [first, second])
        self.assertEqual(self.sync(a, {group: 0}, limit=1)["messages"], [first])
        # Named twice: the last cursor counts.
        self.assertEqual(self.sync(a, [(group, 0), (group, first["seq"])])["messages"], [second])
        self.assertEqual(self.sync(a, [(group, first["seq"]), (group, 0)])["messages"], [first, second])
        # The default limit is 200 messages.
        b = self.chat(bob)
        for ack in b.send_many([self.send_payload(group, f"bulk {n}") for n in range(200)], window=32):
            self.ok(ack)
        page = self.sync(a, {group: 0})
        self.assertEqual((len(page["messages"]), page["has_more"]), (200, True))
        self.assertEqual(page["messages"][:2], [first, second])
        # A direct conversation shows to the other person with its first message (seq 1).
        direct = self.direct(alice, carol)
        c = self.chat(carol)
        self.assertNotIn(direct, [v["id"] for v in self.sync(c, {})["conversations"]])
        hello = self.send(a, direct, "hello Carol")
        self.assertEqual(hello["seq"], 1)
        self.assertEqual(c.next_payload("message"), hello)
        shown = [v for v in self.sync(c, {})["conversations"] if v["id"] == direct]
        self.assertEqual([v["seq"] for v in shown], [1])


class SyncWhileChangingTest(LogCase):
    flags = ("--message-rate", "0", *change_rate_off())

    def test_sync_paging_with_changes_between_pages_converges(self):
        alice, bob, zed = self.users("Alice", "Bob", "Zed")
        a, b = self.chat(alice), self.chat(bob)
        groups = [self.group(alice, bob, zed, title=f"G{n}")["id"] for n in range(5)]
        z = self.chat(zed)
        _, _, _, cursors = self.sync_to_present(z, {})
        z.disconnect()
        bobs = []
        for group in groups:
            bobs += [self.ok(ack) for ack in b.send_many(
                [self.send_payload(group, f"{group}/{n}") for n in range(30)])]

        back = self.chat(zed)
        state = {}
        turn = {"n": 0}

        def change_between_pages(answer):
            for message in answer["messages"]:
                state[message["id"]] = message
            if answer["has_more"]:
                # Change a message already received and one not yet received.
                n = turn["n"]
                turn["n"] += 1
                self.ok(self.edit(b, bobs[n]["id"], f"edited while paging {n}"))
                self.ok(self.react(a, bobs[-1 - n]["id"], "👍" if n % 2 else "🎉"))

        received, objects, _, final = self.sync_to_present(back, cursors, limit=7,
                                                           check_page=change_between_pages)
        self.assertGreater(turn["n"], 10)
        current = {}
        for group in groups:
            for message in self.full_history(zed, group):
                current[message["id"]] = message
        self.assertEqual(state, current, "upserting by id what sync gave ends in the present")
        for group in groups:
            self.assertEqual(final[group], objects[group]["seq"])
            self.assertEqual(final[group], self.conversation_of(zed, group)["seq"])


if __name__ == "__main__":
    unittest.main()
