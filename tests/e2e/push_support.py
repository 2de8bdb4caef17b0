"""Helpers for the Web Push end-to-end tests (API.md "Notifications (v2)"): a fake push service
(fake_push.py) per test, Parley started with ``--push-allow-insecure-endpoints`` so that its
``http://127.0.0.1:PORT/push/…`` endpoints are accepted, and the REST calls of the contract
(the VAPID key, subscribe and unsubscribe, mute, previews) with their checks.

Nothing sleeps. A push that must come is waited for on the fake's condition (bounded by the
harness TIMEOUT). A push that must not come is proven absent behind a barrier: a later message
that does push. A node starts planning the pushes of its messages in commit order (one task
each, on one strand, each with one read), so once the barrier's push has reached the fake, an
earlier message's plan has had the same work to do and more time for it: a push it should not
have made is in the fake's record, which the tests then compare as a whole. (The plans do run
concurrently, so a late one can only make such a check pass wrongly, never fail wrongly.)
When a test changes a setting between two messages (mute, previews), it first waits for a push
of the earlier message to someone else: that message's plan, which reads the settings once for
every recipient, is then over.
"""

import re

from cryptography.hazmat.primitives.asymmetric import ec

from fake_push import FakePushService, b64url_decode
from log_support import TIMEOUT, LogCase, new_client_id
from parley_harness import parse_metrics

SUBJECT = "mailto:push-tests@example.com"
PUSH_FLAGS = ("--push-allow-insecure-endpoints", "--push-subject", SUBJECT)
# A user may sign in twice in a row (two sessions of one person).
SIGN_IN_FLAGS = ("--code-resend-interval", "0")
DROPPED = r"\bpush\.subscription_dropped\b"


class PushCase(LogCase):
    """A fresh server per test that accepts the fake's endpoints, and a fresh fake."""

    flags = LogCase.flags + SIGN_IN_FLAGS + PUSH_FLAGS

    def setUp(self):
        super().setUp()
        self.push = FakePushService().start()
        self.addCleanup(self.push.close)
        self._witness = None

    # -- the contract's calls ---------------------------------------------------------

    def push_key(self, server=None):
        """GET /api/v1/push/key, unauthenticated; checks the answer; returns the raw point."""
        response = (server or self.server).get("/api/v1/push/key")
        self.assertEqual(response.status, 200, response)
        body = response.json()
        self.assertEqual(set(body), {"public_key"}, body)
        self.assertRegex(body["public_key"], r"^[A-Za-z0-9_-]+$", "base64url, unpadded")
        raw = b64url_decode(body["public_key"])
        self.assertEqual(len(raw), 65, body)
        self.assertEqual(raw[0], 4, "an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve
        return raw

    def subscribe(self, user, subscription, status=201, server=None, token=None):
        """POST /api/v1/push/subscriptions; ``subscription``: a Subscriber or a dict."""
        if not isinstance(subscription, dict):
            subscription = subscription.subscription()
        response = (server or self.server).request(
            "POST", "/api/v1/push/subscriptions", body=subscription,
            token=token or user.token)
        self.assertEqual(response.status, status, response)
        if status in (200, 201):
            self.assertEqual(response.json(),
                             {"subscription": {"endpoint": subscription["endpoint"]}})
        return response

    def subscriber(self, user, server=None):
        """A new subscriber of the fake, restricted to the server's VAPID key, subscribed
        for ``user``."""
        subscriber = self.push.new_subscriber(application_server_key=self.push_key(server))
        self.subscribe(user, subscriber, server=server)
        return subscriber

    def unsubscribe(self, user, endpoint, server=None, token=None):
        if not isinstance(endpoint, str):
            endpoint = endpoint.endpoint
        return (server or self.server).request(
            "DELETE", "/api/v1/push/subscriptions", body={"endpoint": endpoint},
            token=token or user.token)

    def mute(self, user, conversation_id, until, server=None):
        """PATCH …/settings {"muted_until": until}; returns the conversation object."""
        response = (server or self.server).request(
            "PATCH", f"/api/v1/conversations/{conversation_id}/settings",
            body={"muted_until": until}, token=user.token)
        conversation = self.conversation_answer(response)
        self.assertEqual(conversation["id"], conversation_id)
        self.assertEqual(conversation["muted_until"], until, conversation)
        return conversation

    def set_previews(self, user, previews):
        response = self.api("PATCH", "/me", {"notification_previews": previews}, user)
        self.assertEqual(response.status, 200, response)
        own = response.json()["user"]
        self.assertIs(own["notification_previews"], previews, own)
        self.assertEqual(self.api("GET", "/me", user=user).json(), {"user": own})
        return own

    def metrics(self, server=None):
        response = (server or self.server).get("/metrics")
        self.assertEqual(response.status, 200, response)
        return parse_metrics(response.body.decode())

    @staticmethod
    def sample(samples, name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    # -- what the fake received -------------------------------------------------------

    def wait_push(self, predicate, timeout=TIMEOUT):
        """The first push satisfying ``predicate`` once it is there; AssertionError on time."""
        with self.push.changed:
            found = []

            def arrived():
                found[:] = [push for push in self.push.pushes if predicate(push)]
                return bool(found)

            if not self.push.changed.wait_for(arrived, timeout):
                seen = [(r["subscriber_id"], r["status"], r["error"], r["payload"])
                        for r in self.push.requests]
                raise AssertionError(f"no push as expected within {timeout} s; requests: {seen}"
                                     [:4000])
            return found[0]

    def wait_request(self, predicate, timeout=TIMEOUT):
        """The first request (any answer, hung included) satisfying ``predicate``."""
        with self.push.changed:
            found = []

            def arrived():
                found[:] = [request for request in self.push.requests if predicate(request)]
                return bool(found)

            if not self.push.changed.wait_for(arrived, timeout):
                seen = [(r["subscriber_id"], r["status"], r["error"]) for r in self.push.requests]
                raise AssertionError(f"no request as expected within {timeout} s: {seen}"[:4000])
            return found[0]

    def wait_message_push(self, subscriber, message):
        """The push of ``message`` (an object with "id") to ``subscriber``."""
        return self.wait_push(lambda push: push["subscriber_id"] == subscriber.id
                              and push["json"]["message_id"] == message["id"])

    def pushed_ids(self, subscriber):
        """The message ids pushed to ``subscriber`` so far, in arrival order."""
        with self.push.lock:
            return [push["json"]["message_id"] for push in self.push.pushes
                    if push["subscriber_id"] == subscriber.id]

    def requests_to(self, subscriber):
        with self.push.lock:
            return [request for request in self.push.requests
                    if request["subscriber_id"] == subscriber.id]

    def wait_log_count(self, pattern, count, server=None):
        """Waits until ``count`` log lines match ``pattern``; returns the last one's match."""
        server = server or self.server
        start, match = 0, None
        for _ in range(count):
            match = server.wait_for_log(pattern, start)
            with server.lock:
                start = next(index for index in range(start, len(server.lines))
                             if re.search(pattern, server.lines[index])) + 1
        return match

    def barrier(self, server=None):
        """Returns once a message sent now on ``server`` to a witness (offline, subscribed)
        has been pushed: every message committed on that server before it has been planned by
        then. Returns the witness's message."""
        server = server or self.server
        if self._witness is None or self._witness[0] is not server:
            witness, postman = self.user("Witness", server=server), self.user("Herald",
                                                                             server=server)
            self._witness = (server, self.subscriber(witness, server=server), witness,
                             self.chat(postman, server=server))
        _, subscriber, witness, socket = self._witness
        marker = self.ok(socket.ack("message:send", self.send_payload(
            None, f"barrier {new_client_id()}", to=witness.id)))
        self.wait_message_push(subscriber, marker)
        return marker

    # -- checks -----------------------------------------------------------------------

    def assertPushOf(self, push, message, title, body=None):
        """A push of ``message`` (the contract's plaintext; ``body`` None: no body key)."""
        expected = {"conversation_id": message["conversation_id"], "message_id": message["id"],
                    "title": title}
        if body is not None:
            expected["body"] = body
        self.assertEqual(push["json"], expected, push["json"])
        self.assertEqual(push["claims"]["sub"], SUBJECT)
        self.assertEqual(push["claims"]["aud"], self.push.origin)
        return push
