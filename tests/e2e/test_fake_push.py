"""The fake push service (fake_push.py) itself, without Parley.

A Parley test that passes against the fake means something only if the fake decrypts what a
browser decrypts and refuses what a push service refuses. So: RFC 8291's Appendix A vector
decrypts; an encrypter written here independently (cryptography's HKDF, not the fake's
HMAC steps), which reproduces Appendix A byte for byte, round-trips through the fake over
HTTP; every check is shown to refuse exactly the request that breaks it; and the answers on
demand (410, 429 with Retry-After, a hang released at close) behave.
"""

import http.client
import json
import os
import threading
import time
import unittest
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fake_push import (
    DecryptError,
    FakePushService,
    Subscriber,
    b64url_decode,
    b64url_encode,
    public_key_bytes,
)

# RFC 8291 Appendix A (base64url, as printed there).
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6"
    "TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulc"
    "y4a-fN"
)


def private_key_from(raw):
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(keys, plaintext, salt=None, sender=None, rs=4096, padding=0, records=None,
            last_delimiter=b"\x02", middle_delimiter=b"\x01", idlen=None):
    """An application server's aes128gcm encryption (RFC 8291), written apart from the fake.

    ``keys`` is a subscription's {"p256dh", "auth"}. ``records`` splits the plaintext into
    several records (each padded to fill ``rs``); the delimiters and ``idlen`` can break it.
    """
    ua_public = b64url_decode(keys["p256dh"])
    auth = b64url_decode(keys["auth"])
    salt = salt if salt is not None else os.urandom(16)
    sender = sender or ec.generate_private_key(ec.SECP256R1())
    as_public = public_key_bytes(sender)
    ecdh = sender.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    )
    ikm = hkdf(auth, ecdh, b"WebPush: info\x00" + ua_public + as_public, 32)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    chunks = records if records is not None else [plaintext]
    out = bytearray()
    for sequence, chunk in enumerate(chunks):
        last = sequence == len(chunks) - 1
        if last:
            padded = chunk + last_delimiter + b"\x00" * padding
        else:
            padded = chunk + middle_delimiter + b"\x00" * (rs - 16 - len(chunk) - 1)
        record_nonce = bytes(a ^ b for a, b in zip(nonce, sequence.to_bytes(12, "big")))
        out += AESGCM(cek).encrypt(record_nonce, padded, None)
    header = salt + rs.to_bytes(4, "big") + bytes([idlen if idlen is not None else 65]) + as_public
    return bytes(header + out)


def vapid_token(signer, claims, header=None):
    """An RFC 8292 JWT: ES256, the signature as raw r || s."""
    header = header if header is not None else {"typ": "JWT", "alg": "ES256"}
    signing_input = (
        b64url_encode(json.dumps(header).encode()) + "." + b64url_encode(json.dumps(claims).encode())
    )
    r, s = decode_dss_signature(signer.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def post(url, body, headers):
    """(status, headers, text) of a POST, on a connection of its own."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


class RfcVectorTest(unittest.TestCase):
    def test_appendix_a_decrypts_to_the_watermelon(self):
        browser = Subscriber(private_key=b64url_decode(RFC_UA_PRIVATE), auth=b64url_decode(RFC_AUTH))
        self.assertEqual(browser.keys, {"p256dh": RFC_UA_PUBLIC, "auth": RFC_AUTH})
        self.assertEqual(browser.decrypt(b64url_decode(RFC_BODY)), RFC_PLAINTEXT)
        self.assertEqual(browser.decrypt(b64url_decode(RFC_BODY), max_records=1), RFC_PLAINTEXT)

    def test_the_encrypter_here_reproduces_appendix_a(self):
        sender = private_key_from(b64url_decode(RFC_AS_PRIVATE))
        self.assertEqual(b64url_encode(public_key_bytes(sender)), RFC_AS_PUBLIC)
        body = encrypt({"p256dh": RFC_UA_PUBLIC, "auth": RFC_AUTH}, RFC_PLAINTEXT,
                       salt=b64url_decode(RFC_SALT), sender=sender)
        self.assertEqual(b64url_encode(body), RFC_BODY)

    def test_another_auth_secret_does_not_decrypt_the_vector(self):
        browser = Subscriber(private_key=b64url_decode(RFC_UA_PRIVATE), auth=bytes(16))
        with self.assertRaises(DecryptError):
            browser.decrypt(b64url_decode(RFC_BODY))


class SubscriberTest(unittest.TestCase):
    def setUp(self):
        self.browser = Subscriber()

    def test_keys_are_what_a_browser_gives(self):
        keys = self.browser.keys
        self.assertNotIn("=", keys["p256dh"] + keys["auth"])
        point = b64url_decode(keys["p256dh"])
        self.assertEqual((len(point), point[0]), (65, 4))
        self.assertEqual(len(b64url_decode(keys["auth"])), 16)
        self.assertNotEqual(Subscriber().keys, keys)
        self.assertEqual(self.browser.subscription(), {"endpoint": None, "keys": keys})

    def test_padding_is_stripped_and_several_records_join(self):
        keys = self.browser.keys
        self.assertEqual(self.browser.decrypt(encrypt(keys, b"hi\x00", padding=500)), b"hi\x00")
        body = encrypt(keys, None, rs=64, records=[b"a" * 30, b"b" * 47, b"tail"])
        self.assertEqual(self.browser.decrypt(body), b"a" * 30 + b"b" * 47 + b"tail")
        with self.assertRaisesRegex(DecryptError, "3 records"):
            self.browser.decrypt(body, max_records=1)

    def test_violations_raise(self):
        keys = self.browser.keys
        good = encrypt(keys, b"payload")
        cases = {
            "garbled ciphertext": good[:-5] + bytes([good[-5] ^ 1]) + good[-4:],
            "last delimiter 0x01": encrypt(keys, b"payload", last_delimiter=b"\x01"),
            "no delimiter": encrypt(keys, b"", last_delimiter=b"", padding=8),
            "idlen 64": encrypt(keys, b"payload", idlen=64),
            "rs 17": good[:16] + (17).to_bytes(4, "big") + good[20:],
            "truncated header": good[:50],
            "header only": good[:86],
            "keyid not a point": good[:22] + bytes(64) + good[86:],
            "other salt": bytes(16) + good[16:],
            "non-last record ends 0x02": encrypt(keys, None, rs=64, records=[b"a", b"b"],
                                                 middle_delimiter=b"\x02"),
        }
        for name, body in cases.items():
            with self.subTest(name), self.assertRaises(DecryptError):
                self.browser.decrypt(body)


class FakePushCase(unittest.TestCase):
    """One fake per test; ``send`` makes a valid push unless told what to break."""

    def setUp(self):
        self.fake = FakePushService().start()
        self.addCleanup(self.fake.close)
        self.vapid = ec.generate_private_key(ec.SECP256R1())
        self.browser = self.fake.new_subscriber()

    def claims(self, **changes):
        claims = {"aud": self.fake.origin, "exp": int(time.time()) + 12 * 3600,
                  "sub": "mailto:ops@parley.example"}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def authorization(self, signer=None, claims=None, header=None, k=None):
        token = vapid_token(signer or self.vapid, claims or self.claims(), header)
        k = k if k is not None else b64url_encode(public_key_bytes(self.vapid))
        return f"vapid t={token}, k={k}"

    def send(self, subscriber=None, payload=b'{"conversation_id": "c1"}', body=None,
             drop=(), **headers):
        subscriber = subscriber or self.browser
        if body is None:
            body = encrypt(subscriber.keys, payload)
        sent = {"TTL": "86400", "Content-Encoding": "aes128gcm", "Urgency": "high",
                "Topic": "conv1", "Authorization": self.authorization(),
                "Content-Type": "application/octet-stream"}
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        for name in drop:
            sent.pop(name)
        return post(subscriber.endpoint, body, sent)

    def assertRefused(self, status, reason, response):
        self.assertEqual(response[0], status, response[2])
        self.assertRegex(response[2], reason)
        self.assertEqual(self.fake.pushes, [])
        self.assertEqual(self.fake.requests[-1]["status"], status)
        self.assertEqual(self.fake.requests[-1]["error"], response[2])


class AcceptTest(FakePushCase):
    def test_a_valid_push_is_decrypted_and_recorded(self):
        self.assertTrue(self.browser.endpoint.startswith(self.fake.origin + "/push/"))
        status, headers, text = self.send(payload=b'{"title": "Ann", "body": "hi"}')
        self.assertEqual((status, text), (201, ""))
        self.assertRegex(headers["Location"], "^" + self.fake.origin + "/message/.+")
        self.assertEqual(headers["TTL"], "86400")
        [push] = self.fake.wait_for_pushes(1)
        self.assertEqual(push["subscriber_id"], self.browser.id)
        self.assertEqual(push["payload"], b'{"title": "Ann", "body": "hi"}')
        self.assertEqual(push["json"], {"title": "Ann", "body": "hi"})
        self.assertEqual(push["claims"]["aud"], self.fake.origin)
        self.assertEqual(push["headers"]["ttl"], "86400")
        self.assertEqual(push["headers"]["Topic"], "conv1")
        self.assertEqual(push["location"], headers["Location"])
        [request] = self.fake.wait_for_requests(1)
        self.assertEqual((request["status"], request["error"]), (201, None))

    def test_optional_headers_and_limits_at_their_edge(self):
        self.assertEqual(self.send(drop=("Urgency", "Topic"), TTL="0")[0], 201)
        self.assertEqual(self.send(Urgency="very-low", Topic="A" * 32)[0], 201)
        exactly = self.send(payload=b"x" * 3993)  # 86 header + 3993 + 1 + 16 = 4096 bytes
        self.assertEqual(exactly[0], 201, exactly[2])
        self.assertEqual(len(self.fake.pushes[-1]["body"]), 4096)
        self.assertEqual(self.send(Authorization=self.authorization(
            header={"alg": "ES256"}, claims=self.claims(sub="https://parley.example/contact")))[0], 201)
        [_, _, _, plain] = self.fake.wait_for_pushes(4)
        self.assertIsNone(self.fake.pushes[2]["json"])
        self.assertEqual(plain["claims"]["sub"], "https://parley.example/contact")

    def test_many_subscribers_at_once(self):
        browsers = [self.fake.new_subscriber() for _ in range(8)]
        results = []
        threads = [threading.Thread(target=lambda b=b: results.append(self.send(b)[0]))
                   for b in browsers]
        for thread in threads:
            thread.start()
        pushes = self.fake.wait_for_pushes(8)
        for thread in threads:
            thread.join()
        self.assertEqual(results, [201] * 8)
        self.assertEqual({p["subscriber_id"] for p in pushes}, {b.id for b in browsers})

    def test_a_restricted_subscription_takes_only_its_key(self):
        restricted = self.fake.new_subscriber(
            application_server_key=b64url_encode(public_key_bytes(self.vapid)))
        self.assertEqual(self.send(restricted)[0], 201)
        other = ec.generate_private_key(ec.SECP256R1())
        response = self.send(restricted, Authorization=self.authorization(
            signer=other, k=b64url_encode(public_key_bytes(other))))
        self.assertEqual(response[0], 403)
        self.assertRegex(response[2], "applicationServerKey")


class RefuseTest(FakePushCase):
    def test_vapid_header_and_jwt(self):
        other = ec.generate_private_key(ec.SECP256R1())
        token = vapid_token(self.vapid, self.claims())
        flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
        k = b64url_encode(public_key_bytes(self.vapid))
        hour = 3600
        cases = [
            ("bad alg", self.authorization(header={"typ": "JWT", "alg": "HS256"}), "alg"),
            ("alg none", self.authorization(header={"typ": "JWT", "alg": "none"}), "alg"),
            ("bad typ", self.authorization(header={"typ": "JWS", "alg": "ES256"}), "typ"),
            ("bad signature", f"vapid t={flipped}, k={k}", "signature"),
            ("DER signature", f"vapid t={token[:token.rindex('.')]}."
                              + b64url_encode(self.vapid.sign(b"x", ec.ECDSA(hashes.SHA256())))
                              + f", k={k}", "signature"),
            ("wrong k", self.authorization(k=b64url_encode(public_key_bytes(other))), "signature"),
            ("k not a key", self.authorization(k=b64url_encode(b"\x04" + bytes(10))), "key"),
            ("aud of another port", self.authorization(
                claims=self.claims(aud=f"http://127.0.0.1:{self.fake.port + 1}")), "aud"),
            ("aud https", self.authorization(
                claims=self.claims(aud=f"https://127.0.0.1:{self.fake.port}")), "aud"),
            ("aud with a path", self.authorization(
                claims=self.claims(aud=self.browser.endpoint)), "aud"),
            ("exp in the past", self.authorization(
                claims=self.claims(exp=int(time.time()) - hour)), "exp"),
            ("exp 25 h ahead", self.authorization(
                claims=self.claims(exp=int(time.time()) + 25 * hour)), "exp"),
            ("exp a string", self.authorization(
                claims=self.claims(exp=str(int(time.time()) + hour))), "exp"),
            ("no sub", self.authorization(claims={"aud": self.fake.origin,
                                                  "exp": int(time.time()) + hour}), "sub"),
            ("sub not mailto", self.authorization(
                claims=self.claims(sub="ops@parley.example")), "sub"),
            ("sub http", self.authorization(
                claims=self.claims(sub="http://parley.example")), "sub"),
            ("no k", f"vapid t={token}", "t= and k="),
            ("not a JWT", f"vapid t=abc.def, k={k}", "JWT"),
        ]
        for name, authorization, reason in cases:
            with self.subTest(name):
                self.assertRefused(403, reason, self.send(Authorization=authorization))

    def test_missing_or_other_scheme_is_401(self):
        token = vapid_token(self.vapid, self.claims())
        for name, sent in [("missing", {"drop": ("Authorization",)}),
                           ("WebPush scheme", {"Authorization": f"WebPush {token}"}),
                           ("Bearer", {"Authorization": f"Bearer {token}"})]:
            with self.subTest(name):
                response = self.send(**sent)
                self.assertRefused(401, "uthorization", response)
                self.assertEqual(response[1]["WWW-Authenticate"], "vapid")

    def test_push_protocol_headers(self):
        cases = [
            ("missing TTL", {"drop": ("TTL",)}, "TTL"),
            ("negative TTL", {"TTL": "-1"}, "TTL"),
            ("TTL not a number", {"TTL": "1d"}, "TTL"),
            ("wrong Content-Encoding", {"Content_Encoding": "aesgcm"}, "Content-Encoding"),
            ("no Content-Encoding", {"drop": ("Content-Encoding",)}, "Content-Encoding"),
            ("bad Urgency", {"Urgency": "urgent"}, "Urgency"),
            ("Topic of 33", {"Topic": "A" * 33}, "Topic"),
            ("Topic not base64url", {"Topic": "conv/1"}, "Topic"),
        ]
        for name, sent, reason in cases:
            with self.subTest(name):
                self.assertRefused(400, reason, self.send(**sent))

    def test_size_subscriber_and_ciphertext(self):
        self.assertRefused(413, "Too Large", self.send(payload=b"x" * 3994))
        self.assertEqual(len(self.fake.requests[-1]["body"]), 4097)
        self.assertRefused(413, "Too Large", self.send(body=os.urandom(2 << 20)))

        unknown = Subscriber(endpoint=self.fake.origin + "/push/nobody")
        self.assertRefused(404, "No such", self.send(unknown))
        self.assertIsNone(self.fake.requests[-1]["subscriber_id"])

        good = encrypt(self.browser.keys, b"payload")
        garbled = good[:100] + bytes([good[100] ^ 0x40]) + good[101:]
        other = encrypt(Subscriber().keys, b"payload")
        cases = [
            ("garbled ciphertext", garbled, "authentication"),
            ("for another subscriber", other, "authentication"),
            ("wrong delimiter", encrypt(self.browser.keys, b"payload", last_delimiter=b"\x01"),
             "delimiter"),
            ("two records", encrypt(self.browser.keys, None, rs=64, records=[b"a", b"b"]),
             "2 records"),
            ("empty body", b"", "header"),
        ]
        for name, body, reason in cases:
            with self.subTest(name):
                self.assertRefused(400, reason, self.send(body=body))

    def test_other_paths_and_methods(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.fake.port, timeout=60)
        self.addCleanup(connection.close)
        connection.request("GET", urllib.parse.urlsplit(self.browser.endpoint).path)
        response = connection.getresponse()
        self.assertEqual((response.status, response.headers["Allow"]), (405, "POST"))
        response.read()
        connection.request("POST", "/elsewhere", body=b"x")
        response = connection.getresponse()  # the same connection: kept alive after answers
        self.assertEqual(response.status, 404)
        response.read()
        self.assertEqual(self.fake.pushes, [])


class OnDemandTest(FakePushCase):
    def test_410_then_normal_again(self):
        self.fake.respond_next(410)
        self.assertEqual(self.send()[0], 410)
        self.assertEqual(self.send()[0], 201)
        self.assertEqual([r["status"] for r in self.fake.wait_for_requests(2)], [410, 201])
        self.assertEqual(len(self.fake.pushes), 1)

    def test_429_with_retry_after_and_a_count(self):
        self.fake.respond_next(429, count=2, retry_after=30)
        for _ in range(2):
            status, headers, _ = self.send()
            self.assertEqual((status, headers["Retry-After"]), (429, "30"))
        status, headers, _ = self.send()
        self.assertEqual((status, headers["Retry-After"]), (201, None))

    def test_per_subscriber_answers_come_first_and_touch_no_one_else(self):
        other = self.fake.new_subscriber()
        self.fake.respond_next(500)
        self.fake.respond_next(503, retry_after=5, subscriber=self.browser)
        status, headers, _ = self.send()
        self.assertEqual((status, headers["Retry-After"]), (503, "5"))
        self.assertEqual(self.send(other)[0], 500)
        self.assertEqual(self.send(other)[0], 201)
        self.assertEqual(self.send()[0], 201)

    def test_an_injected_answer_waits_for_a_valid_request(self):
        self.fake.respond_next(410)
        self.assertEqual(self.send(drop=("TTL",))[0], 400)
        self.assertEqual(self.send()[0], 410)

    def test_expired_subscription_is_410_for_good(self):
        self.fake.expire(self.browser)
        self.assertRefused(410, "expired", self.send())
        self.assertRefused(410, "expired", self.send())

    def test_a_hung_request_does_not_hold_others_and_is_closed_at_close(self):
        self.fake.hang_next()
        outcome = {}

        def hung():
            try:
                outcome["response"] = self.send()
            except (http.client.HTTPException, OSError) as error:
                outcome["error"] = error

        thread = threading.Thread(target=hung)
        thread.start()
        [request] = self.fake.wait_for_requests(1)
        self.assertEqual((request["status"], request["error"]), (None, "hung on request"))
        self.assertEqual(self.send()[0], 201)  # served while the other hangs
        self.assertEqual(self.fake.wait_for_pushes(1)[0]["subscriber_id"], self.browser.id)
        self.assertEqual(outcome, {})
        self.fake.close()
        thread.join(60)
        self.assertFalse(thread.is_alive())
        self.assertNotIn("response", outcome)
        self.assertIsInstance(outcome["error"], (http.client.RemoteDisconnected, ConnectionError))

    def test_waiting_reports_what_did_arrive(self):
        self.send(drop=("TTL",))
        with self.assertRaisesRegex(AssertionError, r"got 0.*400, 'Missing TTL header'"):
            self.fake.wait_for_pushes(1, timeout=0)
        self.assertEqual(len(self.fake.wait_for_requests(1, timeout=0)), 1)

    def test_reset_forgets_records_and_injections(self):
        self.send()
        self.fake.respond_next(500)
        self.fake.reset()
        self.assertEqual((self.fake.pushes, self.fake.requests), ([], []))
        self.assertEqual(self.send()[0], 201)


if __name__ == "__main__":
    unittest.main()
