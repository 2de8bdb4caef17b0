"""Web Push end to end (API.md "Notifications (v2)"): the VAPID key, subscriptions, who gets a
push for a new message and what it says, the push service's answers, a hanging push service,
at most once across a crash, and logout. Parley pushes to the fake push service of
fake_push.py, which decrypts every push (RFC 8291) and checks its VAPID token (RFC 8292) as a
push service and a browser would. Bad input: test_push_input.py; two nodes: test_push_cluster.py.

Nothing sleeps: pushes that must come are waited for on the fake, pushes that must not come
are proven absent behind a barrier (push_support.PushCase.barrier).
"""

import json
import re
import unittest

from cryptography.hazmat.primitives.asymmetric import ec

from fake_push import b64url_decode, public_key_bytes
from push_support import DROPPED, SUBJECT, PushCase
from log_support import now_ms


def message_of(request):
    """The message id of the plaintext a request carried, as the fake decrypted it (None when
    it refused the request before decrypting it)."""
    return None if request["payload"] is None else json.loads(request["payload"])["message_id"]


class KeyAndSubscriptionTest(PushCase):
    def test_the_public_key_signs_every_push(self):
        self.assertEqual(self.server.get("/api/v1/push/key").status, 200, "public: no token")
        key = self.push_key()
        self.assertEqual(self.push_key(), key)
        alice, bob = self.users("Alice", "Bob")
        browser = self.subscriber(bob)  # the fake refuses pushes signed with another key
        a = self.chat(alice)
        sent = self.ok(a.send("hello", to=bob.id))
        push = self.wait_message_push(browser, sent)
        self.assertPushOf(push, sent, "Alice", "Alice: hello")
        match = re.fullmatch(r"vapid t=([A-Za-z0-9_.-]+), ?k=([A-Za-z0-9_-]+)",
                             push["headers"]["Authorization"])
        self.assertIsNotNone(match, push["headers"]["Authorization"])
        self.assertEqual(b64url_decode(match.group(2)), key)
        self.assertEqual(push["claims"]["sub"], SUBJECT)
        self.assertLessEqual(push["claims"]["exp"] - push["received_at"], 86400)

        # The same fake refuses a push signed with any other key: the check above has teeth.
        other_key = public_key_bytes(ec.generate_private_key(ec.SECP256R1()))
        stranger = self.push.new_subscriber(application_server_key=other_key)
        self.subscribe(bob, stranger)
        again = self.ok(a.send("again", to=bob.id))
        self.wait_message_push(browser, again)
        refused = self.wait_request(lambda r: r["subscriber_id"] == stranger.id)
        self.assertEqual(refused["status"], 403, refused["error"])

    def test_subscribe_again_move_and_unsubscribe(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        browser = self.push.new_subscriber(application_server_key=self.push_key())
        self.subscribe(bob, browser, status=201)
        self.subscribe(bob, browser, status=200)
        for call in (lambda: self.subscribe(bob, browser, 401, token="not-a-token"),
                     lambda: self.server.post("/api/v1/push/subscriptions",
                                              browser.subscription())):
            response = call()
            self.assertError(response, 401)
        self.assertError(self.server.request("DELETE", "/api/v1/push/subscriptions",
                                             body={"endpoint": browser.endpoint}), 401)

        # Carol signs in on Bob's browser: the endpoint moves to her.
        self.subscribe(carol, browser, status=201)
        a = self.chat(alice)
        to_bob = self.ok(a.send("for Bob", to=bob.id))
        to_carol = self.ok(a.send("for Carol", to=carol.id))
        self.assertPushOf(self.wait_message_push(browser, to_carol), to_carol, "Alice",
                          "Alice: for Carol")
        self.assertError(self.unsubscribe(bob, browser), 404, "not_found")  # not his any more
        self.barrier()
        self.assertEqual(self.pushed_ids(browser), [to_carol["id"]])

        # Unsubscribed: 204, then 404; no more pushes.
        self.assertEqual(self.unsubscribe(carol, browser).status, 204)
        self.assertError(self.unsubscribe(carol, browser), 404, "not_found")
        after = self.ok(a.send("gone", to=carol.id))
        self.barrier()
        self.assertEqual(self.pushed_ids(browser), [to_carol["id"]])
        self.assertNotIn(to_bob["id"], [message_of(r) for r in self.push.requests])
        self.assertNotIn(after["id"], [message_of(r) for r in self.push.requests])

    def test_logout_drops_that_sessions_subscriptions(self):
        alice = self.user("Alice")
        phone = next(self.phones)
        laptop, phone_session = self.user("Bob", phone), self.user("Bob", phone)
        self.assertEqual(laptop.id, phone_session.id)
        on_laptop, on_phone = self.subscriber(laptop), self.subscriber(phone_session)
        response = self.server.post("/api/v1/auth/logout", token=laptop.token)
        self.assertIn(response.status, (200, 204), response)

        a = self.chat(alice)
        sent = self.ok(a.send("after logout", to=laptop.id))
        self.wait_message_push(on_phone, sent)
        self.barrier()
        self.assertEqual(self.requests_to(on_laptop), [])
        self.assertError(self.unsubscribe(phone_session, on_laptop), 404, "not_found")
        self.assertError(self.subscribe(laptop, self.push.new_subscriber(), 401), 401)
        self.assertEqual(self.unsubscribe(phone_session, on_phone).status, 204)


class WhoIsPushedTest(PushCase):
    def test_offline_members_only_once_per_subscription_and_not_when_muted(self):
        alice, bob, carol, dave = self.users("Alice", "Bob", "Carol", "Dave")
        group = self.group(alice, bob, carol, dave, title="Team")["id"]
        sender, online = self.subscriber(alice), self.subscriber(bob)
        carols = self.subscriber(carol)
        daves = [self.subscriber(dave), self.subscriber(dave)]  # two browsers: one push each
        a, b = self.chat(alice), self.chat(bob)

        def send_and_wait(text):
            """Sends; returns once Dave's two pushes of it came (so it is planned)."""
            message = self.send(a, group, text)
            for browser in daves:
                self.assertPushOf(self.wait_message_push(browser, message), message, "Team",
                                  f"Alice: {text}")
            return message

        one = send_and_wait("one")
        self.assertPushOf(self.wait_message_push(carols, one), one, "Team", "Alice: one")
        b.wait_for("message", lambda m: m["id"] == one["id"])

        # Muted: nothing for Carol while it lasts; the conversation objects show it to her only.
        until = now_ms() + 3_600_000
        self.mute(carol, group, until)
        self.assertEqual(self.conversation_of(carol, group)["muted_until"], until)
        self.assertIsNone(self.conversation_of(dave, group)["muted_until"])
        two = send_and_wait("two")
        # A time in the past is not muted; null unmutes.
        self.mute(carol, group, 1000)
        three = send_and_wait("three")
        self.wait_message_push(carols, three)
        self.mute(carol, group, until)
        four = send_and_wait("four")
        self.mute(carol, group, None)
        self.assertIsNone(self.conversation_of(carol, group)["muted_until"])
        five = send_and_wait("five")
        self.wait_message_push(carols, five)

        # Only new messages push: not edits, reactions or deletes.
        self.ok(self.edit(a, five["id"], "five!"))
        self.ok(self.react(b, five["id"], "👍"))
        self.ok(self.delete(a, four["id"]))
        self.barrier()
        self.assertEqual(self.pushed_ids(carols), [one["id"], three["id"], five["id"]])
        everything = [m["id"] for m in (one, two, three, four, five)]
        for browser in daves:
            self.assertEqual(sorted(self.pushed_ids(browser)), everything)
        self.assertEqual(self.requests_to(sender) + self.requests_to(online), [])

    def test_a_subscription_after_messages_to_someone_without_one_gets_the_next_push(self):
        # The node remembers who has no subscription (so that it need not ask who is online
        # for every message to them); subscribing must end that at once.
        alice, bob = self.users("Alice", "Bob")
        conversation = self.direct(alice, bob)
        a = self.chat(alice)
        self.send(a, conversation, "before")  # Bob: offline, no subscription
        self.barrier()  # planned: the node has found Bob without one
        browser = self.subscriber(bob)
        after = self.send(a, conversation, "after")
        self.assertPushOf(self.wait_message_push(browser, after), after, "Alice", "Alice: after")
        self.barrier()
        self.assertEqual(self.pushed_ids(browser), [after["id"]])

    def test_mute_settings_refuse_bad_input(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        conversation = self.direct(alice, bob)
        path = f"/conversations/{conversation}/settings"
        for body in ({}, {"muted_until": "tomorrow"}, {"muted_until": -1},
                     {"muted_until": 1.5}, {"muted_until": True}, {"muted_until": [1]},
                     {"muted_until": 2 ** 64}, ["muted_until"], "not json"):
            self.assertError(self.api("PATCH", path, body, alice), 400, "bad_request")
        for where in (path, "/conversations/999999/settings", "/conversations/abc/settings"):
            user = carol if where == path else alice
            self.assertError(self.api("PATCH", where, {"muted_until": None}, user), 404,
                             "not_found")
        self.assertError(self.api("PATCH", path, {"muted_until": None}), 401)
        self.assertIsNone(self.mute(alice, conversation, None)["muted_until"])


class WhatIsPushedTest(PushCase):
    def test_previews_title_and_body(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        for user in (bob, alice):
            self.assertIs(user.own["notification_previews"], True)
            self.assertIs(self.api("GET", "/me", user=user).json()["user"]
                          ["notification_previews"], True)
        browser = self.subscriber(bob)
        a = self.chat(alice)
        text = "é" * 120 + "😀" * 100 + "x" * 80  # 300 characters, each one code point
        long = self.ok(a.send(text, to=bob.id))
        self.assertPushOf(self.wait_message_push(browser, long), long, "Alice",
                          "Alice: " + text[:200])
        short = self.ok(a.send("x" * 200, to=bob.id))
        self.assertPushOf(self.wait_message_push(browser, short), short, "Alice",
                          "Alice: " + "x" * 200)
        group = self.group(alice, bob, carol, title="Book club")["id"]
        in_group = self.send(a, group, "chapter 3")
        self.assertPushOf(self.wait_message_push(browser, in_group), in_group, "Book club",
                          "Alice: chapter 3")

        # Previews off: no body at all; on again: the body is back.
        for bad in ("no", 0, None, [False]):
            self.assertError(self.api("PATCH", "/me", {"notification_previews": bad}, bob), 400)
        self.set_previews(bob, False)
        hidden = self.send(a, group, "secret")
        self.assertPushOf(self.wait_message_push(browser, hidden), hidden, "Book club")
        self.set_previews(bob, True)
        shown = self.send(a, group, "not secret")
        self.assertPushOf(self.wait_message_push(browser, shown), shown, "Book club",
                          "Alice: not secret")

        # A direct conversation's title is Bob's nickname for Alice once he gave her one.
        self.add_contact(bob, alice, "Ally")
        named = self.ok(a.send("hi", to=bob.id))
        push = self.wait_message_push(browser, named)
        self.assertEqual(push["json"]["title"], "Ally")
        self.assertTrue(push["json"]["body"].endswith(": hi"), push["json"])

    def test_a_preview_of_long_characters_still_fits_in_a_push(self):
        # 200 characters of 25 bytes each (a family emoji: 7 code points joined): the first 200
        # characters alone are larger than a push body may be (4096 bytes).
        alice, bob = self.users("Alice", "Bob")
        browser = self.subscriber(bob)
        family = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"
        a = self.chat(alice)
        sent = self.ok(a.send(family * 200, to=bob.id))
        push = self.wait_message_push(browser, sent)
        body = push["json"]["body"]
        self.assertTrue(body.startswith("Alice: " + family), body[:40])
        self.assertTrue((family * 200).startswith(body[len("Alice: "):]), "whole characters")

    def test_headers_ttl_urgency_topic_and_encoding(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        bobs, carols = self.subscriber(bob), self.subscriber(carol)
        a = self.chat(alice)
        direct = [self.ok(a.send(text, to=bob.id)) for text in ("d1", "d2")]
        other_direct = self.ok(a.send("d3", to=carol.id))
        group = self.group(alice, bob, carol, title="Team")["id"]
        in_group = [self.send(a, group, text) for text in ("g1", "g2")]

        def headers(browser, message):
            return self.wait_message_push(browser, message)["headers"]

        for browser, message in [(bobs, m) for m in direct + in_group] + [
                (carols, other_direct), (carols, in_group[0])]:
            seen = headers(browser, message)
            self.assertEqual(seen["TTL"], "86400", seen)
            self.assertEqual(seen["Content-Encoding"], "aes128gcm")
            self.assertEqual(seen["Urgency"], "high" if message in direct + [other_direct]
                             else "normal", (message["body"], seen))
        topics = {name: headers(browser, message)["Topic"] for name, browser, message in (
            ("d1", bobs, direct[0]), ("d2", bobs, direct[1]), ("d3", carols, other_direct),
            ("g1", bobs, in_group[0]), ("g2", bobs, in_group[1]),
            ("g1 to Carol", carols, in_group[0]))}
        self.assertEqual(topics["d1"], topics["d2"])
        self.assertEqual(topics["g1"], topics["g2"])
        self.assertEqual(topics["g1"], topics["g1 to Carol"])
        self.assertEqual(len({topics["d1"], topics["d3"], topics["g1"]}), 3, topics)

        # A group is a group even when only two members are left in it.
        self.assertEqual(self.leave(carol, group).status, 204)
        alone = self.send(a, group, "just us")
        self.assertEqual(headers(bobs, alone)["Urgency"], "normal")
        self.assertEqual(headers(bobs, alone)["Topic"], topics["g1"])

    def test_an_attachment_alone_is_named_by_a_word(self):
        alice, bob = self.users("Alice", "Bob")
        browser = self.subscriber(bob)
        a = self.chat(alice)
        response = self.server.request("POST", "/api/v1/uploads", body=b"some notes\n",
                                       token=alice.token, headers={
                                           "Content-Type": "text/plain", "X-Filename": "n.txt"})
        self.assertEqual(response.status, 201, response)
        payload = self.send_payload(None, "", to=bob.id)
        payload["attachments"] = [response.json()["upload"]["id"]]
        sent = self.ok(a.ack("message:send", payload))
        body = self.wait_message_push(browser, sent)["json"]["body"]
        self.assertRegex(body, r"^Alice: \S", body)


class PushServiceAnswersTest(PushCase):
    def test_404_and_410_drop_the_subscription(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        gone, unknown, kept = self.subscriber(bob), self.subscriber(carol), self.subscriber(carol)
        self.push.expire(gone)  # every push to it: 410
        self.push.respond_next(404, subscriber=unknown)
        a = self.chat(alice)
        group = self.group(alice, bob, carol)["id"]
        first = self.send(a, group, "first")
        self.wait_message_push(kept, first)
        self.wait_log_count(DROPPED, 2)
        second = self.send(a, group, "second")
        self.wait_message_push(kept, second)
        self.barrier()
        self.assertEqual([r["status"] for r in self.requests_to(gone)], [410])  # "expired"
        self.assertEqual([(r["status"], message_of(r)) for r in self.requests_to(unknown)],
                         [(404, first["id"])])
        self.assertError(self.unsubscribe(bob, gone), 404, "not_found")
        self.assertError(self.unsubscribe(carol, unknown), 404, "not_found")
        self.assertEqual(self.unsubscribe(carol, kept).status, 204)
        samples = self.metrics()
        self.assertEqual(self.sample(samples, "parley_push_subscriptions_dropped_total"), 2)
        self.assertEqual(self.sample(samples, "parley_push_failed_total", status="410"), 1)
        self.assertEqual(self.sample(samples, "parley_push_failed_total", status="404"), 1)

    def test_429_is_retried_no_sooner_than_retry_after_and_5xx_is_retried(self):
        alice, bob = self.users("Alice", "Bob")
        browser = self.subscriber(bob)
        self.push.respond_next(429, retry_after=2, subscriber=browser)
        a = self.chat(alice)
        sent = self.ok(a.send("busy?", to=bob.id))
        push = self.wait_message_push(browser, sent)
        first = self.requests_to(browser)[0]
        self.assertEqual((first["status"], message_of(first)), (429, sent["id"]))
        self.assertEqual(first["body"], push["body"], "the same push, sent again")
        self.assertGreaterEqual(push["received_at"] - first["received_at"], 2.0)

        self.push.respond_next(503, subscriber=browser)
        again = self.ok(a.send("down?", to=bob.id))
        push = self.wait_message_push(browser, again)
        self.assertEqual([(r["status"], message_of(r)) for r in self.requests_to(browser)],
                         [(429, sent["id"]), (201, sent["id"]), (503, again["id"]),
                          (201, again["id"])])
        samples = self.metrics()
        self.assertEqual(self.sample(samples, "parley_push_retries_total"), 2)
        self.assertEqual([key for key in samples if key[0] == "parley_push_failed_total"], [])

    def test_a_hanging_push_service_does_not_delay_delivery(self):
        alice, bob, carol = self.users("Alice", "Bob", "Carol")
        stuck = self.subscriber(carol)
        self.push.hang_next(count=100, subscriber=stuck)
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, carol)["id"]
        first = self.send(a, group, "first")
        hung = self.wait_request(lambda r: r["subscriber_id"] == stuck.id)
        self.assertEqual((hung["status"], message_of(hung)), (None, first["id"]))
        # While that push hangs, messages are acknowledged and delivered as ever.
        later = [self.send(a, group, f"later {n}") for n in range(3)]
        for message in [first] + later:
            b.wait_for("message", lambda m, wanted=message["id"]: m["id"] == wanted)
        samples = self.metrics()
        self.assertEqual(self.sample(samples, "parley_push_retries_total"), 0,
                         "the hung request has not timed out yet")
        self.assertGreaterEqual(self.sample(samples, "parley_push_queue_depth"), 1)


class CrashTest(PushCase):
    def test_a_push_in_flight_at_a_crash_is_not_sent_again(self):
        alice, bob = self.users("Alice", "Bob")
        key = self.push_key()
        browser = self.subscriber(bob)
        self.push.hang_next(subscriber=browser)
        a = self.chat(alice)
        first = self.ok(a.send("before the crash", to=bob.id))
        hung = self.wait_request(lambda r: r["subscriber_id"] == browser.id)
        self.assertEqual((hung["status"], message_of(hung)), (None, first["id"]))

        self.server.kill()
        self.server = self.start_server(*self.flags, directory=self.server.directory)
        self.assertEqual(self.push_key(), key, "the VAPID key is kept")
        a = self.chat(alice)
        second = self.ok(a.send("after the crash", conversation_id=first["conversation_id"]))
        self.assertPushOf(self.wait_message_push(browser, second), second, "Alice",
                          "Alice: after the crash")
        self.barrier()
        self.assertEqual([(r["status"], message_of(r)) for r in self.requests_to(browser)],
                         [(None, first["id"]), (201, second["id"])])
        # The message itself is durable: it is there for Bob to read.
        history = self.history_page(bob, first["conversation_id"])["messages"]
        self.assertEqual([m["id"] for m in history], [first["id"], second["id"]])


if __name__ == "__main__":
    unittest.main()
