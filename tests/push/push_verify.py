"""Checks the Web Push cryptography of src/push/crypto.cpp with an independent implementation.

Runs the push_sample program (its path in PARLEY_PUSH_SAMPLE), which prints a user agent's key
pair and auth secret, bodies that encrypt() made for it, a VAPID Authorization header and a
topic; then, with Python's `cryptography` (Debian's python3-cryptography, so /usr/bin/python3):
  - decrypts every body per RFC 8291 / RFC 8188 (ECDH, HKDF-SHA-256, AES-128-GCM) and checks
    the header, the length, the 0x02 delimiter and the zero padding;
  - verifies the ES256 JWT against the `k` key, and its header, `aud`, `exp` and `sub`;
  - recomputes the topic.
Its own decryption and verification are first held to RFC 8291's Appendix A and to a forged
signature, so that a broken checker cannot pass a broken sample.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import time
import unittest

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64decode(text):
    if not B64URL.match(text):
        raise ValueError(f"not base64url without padding: {text!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def private_key(scalar):
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def public_bytes(key):
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def decrypt(body, ua_private, auth):
    """The user agent's side of RFC 8291: the plaintext of an aes128gcm body, or ValueError."""
    if len(body) < 86 + 16 + 1:
        raise ValueError("body too short")
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    if rs != 4096:
        raise ValueError(f"rs is {rs}, not 4096")
    if idlen != 65:
        raise ValueError(f"idlen is {idlen}, not 65")
    as_public = body[21:86]
    record = body[86:]
    if len(record) > rs:
        raise ValueError("more than one record")
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    shared = ua_private.exchange(ec.ECDH(), peer)
    ua_public = public_bytes(ua_private)
    ikm = hkdf(auth, shared, b"WebPush: info\x00" + ua_public + as_public, 32)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    try:
        padded = AESGCM(cek).decrypt(nonce, record, None)
    except InvalidTag:
        raise ValueError("the record does not authenticate")
    unpadded = padded.rstrip(b"\x00")
    if not unpadded or unpadded[-1] != 0x02:
        raise ValueError("the last record does not end with the 0x02 delimiter and zeros")
    return unpadded[:-1], len(padded)


def verify_jwt(token, key_bytes):
    """The header and claims of an ES256 JWT whose signature `key_bytes` verifies."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"not a JWS compact serialisation: {token!r}")
    signature = b64decode(parts[2])
    if len(signature) != 64:
        raise ValueError(f"the signature is {len(signature)} bytes, not r || s (64)")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
    key.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(b64decode(parts[0])), json.loads(b64decode(parts[1]))


def sign_jwt(claims, key):
    """An ES256 JWT, Python's own, for the checker's self-test."""
    header = b64encode(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    payload = b64encode(json.dumps(claims).encode())
    r, s = decode_dss_signature(
        key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}.{payload}.{b64encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# RFC 8291 Appendix A.
RFC = {
    "plaintext": b"When I grow up, I want to be a watermelon",
    "ua_private": "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    "ua_public": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    "auth": "BTBZMqHH6r4Tts7J_aSIgg",
    "body": "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
            "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qul"
            "cy4a-fN",
}


class CheckerSelfTest(unittest.TestCase):
    """The checks below are only worth what these prove about them."""

    def test_decrypts_rfc8291_appendix_a(self):
        ua = private_key(b64decode(RFC["ua_private"]))
        self.assertEqual(b64encode(public_bytes(ua)), RFC["ua_public"])
        plaintext, _ = decrypt(b64decode(RFC["body"]), ua, b64decode(RFC["auth"]))
        self.assertEqual(plaintext, RFC["plaintext"])
        tampered = bytearray(b64decode(RFC["body"]))
        tampered[-1] ^= 1
        with self.assertRaises(ValueError):
            decrypt(bytes(tampered), ua, b64decode(RFC["auth"]))

    def test_verifies_its_own_jwt_and_refuses_a_forged_one(self):
        key = ec.generate_private_key(ec.SECP256R1())
        token = sign_jwt({"aud": "https://a.example", "exp": 1, "sub": "mailto:a@b"}, key)
        header, claims = verify_jwt(token, public_bytes(key))
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(claims["aud"], "https://a.example")
        head, payload, signature = token.split(".")
        forged = b64encode(b64decode(payload).replace(b"a.example", b"b.example"))
        with self.assertRaises(InvalidSignature):
            verify_jwt(f"{head}.{forged}.{signature}", public_bytes(key))
        other = ec.generate_private_key(ec.SECP256R1())
        with self.assertRaises(InvalidSignature):
            verify_jwt(token, public_bytes(other))


class PushSample(unittest.TestCase):
    sample = None

    @classmethod
    def setUpClass(cls):
        program = os.environ.get("PARLEY_PUSH_SAMPLE")
        if not program:
            raise RuntimeError("PARLEY_PUSH_SAMPLE must name the push_sample program")
        started = time.time()
        result = subprocess.run([program], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{program} exited with {result.returncode}:\n{result.stderr}")
        cls.sample = json.loads(result.stdout)
        cls.started, cls.finished = started, time.time()

    def test_user_agent_key_pair_is_consistent(self):
        ua = private_key(b64decode(self.sample["ua_private"]))
        self.assertEqual(b64encode(public_bytes(ua)), self.sample["ua_public"])
        self.assertEqual(len(b64decode(self.sample["auth"])), 16)

    def test_bodies_decrypt_to_their_plaintexts(self):
        ua = private_key(b64decode(self.sample["ua_private"]))
        auth = b64decode(self.sample["auth"])
        messages = self.sample["messages"]
        self.assertGreaterEqual(len(messages), 5)
        salts, ephemeral_keys = set(), set()
        for message in messages:
            with self.subTest(plaintext=message["plaintext"][:40], pad_to=message["pad_to"]):
                expected = b64decode(message["plaintext"])
                body = b64decode(message["body"])
                plaintext, padded_length = decrypt(body, ua, auth)
                self.assertEqual(plaintext, expected)
                self.assertEqual(padded_length, max(len(expected) + 1, message["pad_to"]))
                self.assertEqual(len(body), 86 + padded_length + 16)
                self.assertLessEqual(len(body), 4096)
                ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), body[21:86])
                salts.add(body[:16])
                ephemeral_keys.add(body[21:86])
        self.assertEqual(len(salts), len(messages), "a salt was used twice")
        self.assertEqual(len(ephemeral_keys), len(messages), "an ephemeral key was used twice")

    def test_largest_message_fills_4096_bytes(self):
        sizes = [len(b64decode(m["body"])) for m in self.sample["messages"]]
        self.assertEqual(max(sizes), 4096)
        self.assertIn(3993, [len(b64decode(m["plaintext"])) for m in self.sample["messages"]])

    def test_vapid_authorization(self):
        match = re.fullmatch(r"vapid t=([A-Za-z0-9_.-]+), k=([A-Za-z0-9_-]+)",
                             self.sample["authorization"])
        self.assertIsNotNone(match, self.sample["authorization"])
        token, key_text = match.groups()
        self.assertEqual(key_text, self.sample["vapid_public"])
        key = b64decode(key_text)
        self.assertEqual(len(key), 65)
        header, claims = verify_jwt(token, key)
        self.assertEqual(header, {"typ": "JWT", "alg": "ES256"})
        self.assertEqual(set(claims), {"aud", "exp", "sub"})
        self.assertEqual(claims["aud"], self.sample["audience"])
        self.assertEqual(claims["sub"], self.sample["subject"])
        self.assertIsInstance(claims["exp"], int)
        # RFC 8292 §2: at most 24 hours ahead; Parley's tokens live 12 hours.
        self.assertGreater(claims["exp"], self.finished)
        self.assertLessEqual(claims["exp"] - self.started, 24 * 3600)
        self.assertEqual(claims["exp"], self.sample["now"] + 12 * 3600)
        self.assertLessEqual(abs(self.sample["now"] - self.started), 120)

    def test_topic(self):
        digest = hashlib.sha256(self.sample["topic_key"].encode()).digest()
        self.assertEqual(self.sample["topic"], b64encode(digest[:16]))
        self.assertEqual(len(self.sample["topic"]), 22)


if __name__ == "__main__":
    unittest.main(verbosity=2)
