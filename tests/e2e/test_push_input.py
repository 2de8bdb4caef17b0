"""Web Push subscriptions refuse what the contract refuses (API.md "Notifications (v2)"), each
with `400 {"error": {"code": "bad_request", "message"}}`, and the server keeps working after
them: endpoints that are not https (http://127.0.0.1 only with
--push-allow-insecure-endpoints), that name a loopback, private or link-local host, or are too
long; keys that are not a P-256 point or not 16 bytes; missing fields, wrong JSON types, bodies
that are not JSON; a 21st subscription for one user. Nothing sleeps.
"""

import os
import unittest

from cryptography.hazmat.primitives.asymmetric import ec

from fake_push import b64url_encode, public_key_bytes
from log_support import LogCase
from push_support import PushCase

P256_PRIME = 2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1


def point(x, y):
    return b64url_encode(b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))


class SubscriptionInputTest(PushCase):
    def setUp(self):
        super().setUp()
        self.alice, self.bob = self.users("Alice", "Bob")
        self.browser = self.push.new_subscriber(application_server_key=self.push_key())
        self.good = self.browser.subscription()

    def refused(self, body, user=None, **options):
        response = self.server.request("POST", "/api/v1/push/subscriptions", body=body,
                                       token=(user or self.alice).token, **options)
        return self.assertError(response, 400, "bad_request")

    def with_endpoint(self, endpoint):
        return dict(self.good, endpoint=endpoint)

    def with_keys(self, **keys):
        return dict(self.good, keys=dict(self.good["keys"], **keys))

    def assertStillWorks(self):
        """A valid subscription is accepted and pushed to, and nothing refused was stored."""
        self.subscribe(self.bob, self.browser, status=201)
        a = self.chat(self.alice)
        sent = self.ok(a.send("still here", to=self.bob.id))
        self.assertPushOf(self.wait_message_push(self.browser, sent), sent, "Alice",
                          "Alice: still here")
        self.assertTrue(self.server.healthy())

    def test_endpoints_that_are_not_public_https_urls(self):
        port = self.push.port
        endpoints = [
            "", "push", "/push/1", "//push.example.com/x", "https://", "https:///x",
            "http://push.example.com/push/1", "ftp://push.example.com/x", "ws://push.example.com/x",
            "mailto:someone@example.com", "javascript:alert(1)",
            # Private, link-local, loopback and other non-public addresses and names.
            "https://10.1.2.3/push/1", "https://192.168.1.20/push/1", "https://172.16.5.4/push",
            "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/push",
            "https://0.0.0.0/push", "https://127.0.0.1/push", "https://127.0.0.1:443/push",
            "https://[fe80::1]/push", "https://[::1]/push", "https://[::1]:8443/push",
            "https://[fc00::1]/push", "https://[::ffff:10.0.0.1]/push",
            "https://[::ffff:127.0.0.1]/push", "https://[::]/push",
            "https://localhost/push", "https://LOCALHOST:8443/push", "https://push.localhost/x",
            "https://localhost./push", "https://intranet/push",
            # Numbers that resolvers read as IPv4 loopback addresses.
            "https://2130706433/push", "https://0x7f000001/push", "https://127.1/push",
            "https://0x7f.0.0.1/push", "https://127.0.0.1./push", "https://127.0.0.%31/push",
            "https://local%68ost/push", "https://10.0.0.1.:8443/push",
            # The testing aid widens http to 127.0.0.1 only.
            f"http://localhost:{port}/push/1", f"http://[::1]:{port}/push/1",
            f"http://127.0.0.2:{port}/push/1", f"http://10.0.0.1:{port}/push/1",
            f"ws://127.0.0.1:{port}/push/1",
            # User info, fragments, bad ports, spaces.
            "https://user:secret@push.example.com/x", "https://push.example.com/x#fragment",
            "https://push.example.com:0/x", "https://push.example.com:99999/x",
            "https://push.example.com:port/x", "https://push example.com/x",
            # Too long (the limit is 2048 characters).
            "https://push.example.com/" + "a" * 2100,
        ]
        for endpoint in endpoints:
            with self.subTest(endpoint=endpoint[:80]):
                self.refused(self.with_endpoint(endpoint))
        for endpoint in ("https://push.example.com/x", "https://fcm.googleapis.com/fcm/send/abc",
                         "https://[2606:4700::1111]/push", "https://8.8.8.8:8443/p?q=1",
                         "https://push.example.com./x", "https://push.example.com:65535/x",
                         "https://push.example.com/" + "a" * 2000):
            with self.subTest(endpoint=endpoint[:80]):
                self.subscribe(self.alice, self.with_endpoint(endpoint), status=201)
                self.assertEqual(self.unsubscribe(self.alice, endpoint).status, 204)
        self.assertStillWorks()

    def test_http_loopback_only_with_the_testing_flag(self):
        strict = self.start_server(*LogCase.flags)
        carol = self.user("Carol", server=strict)
        response = strict.request("POST", "/api/v1/push/subscriptions", body=self.good,
                                  token=carol.token)
        self.assertError(response, 400, "bad_request")
        self.assertEqual(strict.request("POST", "/api/v1/push/subscriptions", body=dict(
            self.good, endpoint="https://push.example.com/x"), token=carol.token).status, 201)
        self.subscribe(self.alice, self.browser, status=201)  # the flagged server takes it

    def test_keys_that_are_not_a_p256_point_and_a_16_byte_secret(self):
        valid = public_key_bytes(ec.generate_private_key(ec.SECP256R1()))
        x, y = int.from_bytes(valid[1:33], "big"), int.from_bytes(valid[33:], "big")
        bad_points = [
            point(x, (y + 1) % P256_PRIME),  # not on the curve
            point(P256_PRIME, y),  # a coordinate not below the prime
            point(0, 0),
            b64url_encode(valid[:33]),  # too short
            b64url_encode(bytes([2 + (y & 1)]) + valid[1:33]),  # compressed
            b64url_encode(valid[1:]),  # 64 bytes, no 0x04
            b64url_encode(valid + b"\x00"),  # 66 bytes
            b64url_encode(b"\x00"),  # the point at infinity
            "", "not base64!", b64url_encode(valid) + "*", "A" * 5000,
        ]
        for p256dh in bad_points:
            with self.subTest(p256dh=p256dh[:40]):
                self.refused(self.with_keys(p256dh=p256dh))
        for auth in (b64url_encode(os.urandom(15)), b64url_encode(os.urandom(17)), "",
                     b64url_encode(os.urandom(32)), "!!!!!!!!!!!!!!!!!!!!!!", "A" * 5000):
            with self.subTest(auth=auth[:40]):
                self.refused(self.with_keys(auth=auth))
        self.assertStillWorks()

    def test_missing_fields_wrong_types_and_bodies_that_are_not_json(self):
        keys = self.good["keys"]
        bodies = [
            {}, {"endpoint": self.good["endpoint"]}, {"keys": keys},
            dict(self.good, keys={}), dict(self.good, keys={"p256dh": keys["p256dh"]}),
            dict(self.good, keys={"auth": keys["auth"]}),
            dict(self.good, endpoint=None), dict(self.good, endpoint=5),
            dict(self.good, endpoint=[self.good["endpoint"]]), dict(self.good, keys=None),
            dict(self.good, keys="keys"), dict(self.good, keys=[keys["p256dh"], keys["auth"]]),
            self.with_keys(p256dh=5), self.with_keys(p256dh=None), self.with_keys(auth=True),
            self.with_keys(auth={"value": keys["auth"]}),
            [self.good], "not json", '{"endpoint": ', '"endpoint"', "null", "5",
        ]
        for body in bodies:
            with self.subTest(body=str(body)[:80]):
                self.refused(body)
        self.refused(self.good, headers={"Content-Type": "text/plain"})
        for body in ({}, {"endpoint": 5}, "not json", [self.good["endpoint"]]):
            with self.subTest(delete=str(body)[:80]):
                response = self.server.request("DELETE", "/api/v1/push/subscriptions",
                                               body=body, token=self.alice.token)
                self.assertError(response, 400, "bad_request")
        self.assertStillWorks()

    def test_twenty_subscriptions_per_user(self):
        browsers = [self.push.new_subscriber() for _ in range(20)]
        for browser in browsers:
            self.subscribe(self.alice, browser, status=201)
        extra = self.push.new_subscriber()
        error = self.refused(extra.subscription())
        self.assertIn("20", error["message"])
        self.subscribe(self.alice, browsers[-1], status=200)  # one she has: still fine
        # Nor can one move to her from someone else while she has twenty.
        self.subscribe(self.bob, extra, status=201)
        self.refused(extra.subscription())
        self.subscribe(self.bob, extra, status=200)
        # One fewer, and another fits.
        self.assertEqual(self.unsubscribe(self.alice, browsers[0]).status, 204)
        self.subscribe(self.alice, self.push.new_subscriber(), status=201)
        self.refused(self.push.new_subscriber().subscription())
        self.assertStillWorks()


if __name__ == "__main__":
    unittest.main()
