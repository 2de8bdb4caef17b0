#!/usr/bin/python3
"""A fake Web Push service on loopback for Parley's tests, and the browser's side of it.

Python 3 standard library plus Debian's ``python3-cryptography``. Push services (FCM,
Mozilla autopush, Apple, WNS) cannot be reached from the tests, so this fake checks each
request the way the standards say a push service and a browser do, so that a push it accepts
is one a real service would deliver and a browser would show:

* RFC 8030 (push protocol), ``POST /push/<id>``: ``TTL`` present, a non-negative integer;
  ``Urgency``, when present, one of ``very-low``, ``low``, ``normal``, ``high``; ``Topic``,
  when present, 1 to 32 characters of the base64url alphabet; a body of at most 4096 bytes
  (else ``413``). Success is ``201`` with ``Location: <origin>/message/<id>`` and the ``TTL``
  used. An unknown id is ``404``; a subscription the browser dropped (``expire``) is ``410``.
* ``Content-Encoding: aes128gcm`` (RFC 8188) and the body decrypting with the subscriber's
  keys per RFC 8291: header ``salt(16) | rs(4) | idlen(1) | keyid(idlen)`` with ``rs >= 18``
  and ``keyid`` the sender's 65-byte uncompressed P-256 key; ECDH, then the HKDF steps of
  RFC 8291 section 3.3-3.4 written out with HMAC-SHA-256; AES-128-GCM records of ``rs`` bytes,
  each ending (before its zero padding) in ``0x01``, the last in ``0x02``. RFC 8291 section 4
  requires a push message to be a single record, so the service refuses more than one
  (``Subscriber.decrypt`` alone accepts several). Anything that does not decrypt is ``400``.
* RFC 8292 (VAPID): ``Authorization: vapid t=<JWT>, k=<base64url P-256 public key>``
  (absent, or another scheme: ``401`` with ``WWW-Authenticate: vapid``; present but invalid:
  ``403``). The JWT: header ``alg`` exactly ``ES256`` (and ``typ``, if given, ``JWT``), an
  ES256 signature (raw 64-byte ``r || s``) valid for ``k``, ``aud`` equal to the endpoint's
  origin ``http://127.0.0.1:<port>``, ``0 < exp - now <= 86400``, ``sub`` starting
  ``mailto:`` or ``https:``. A subscriber created with ``application_server_key`` (what the
  browser passes to ``pushManager.subscribe``) only takes pushes signed with that key (else
  ``403``, as RFC 8292 section 4.2 requires).

Rejections answer with a short ``text/plain`` reason. The checks run in that order: path and
subscriber, then the RFC 8030 headers, the size, VAPID, and decryption. A narrowing: bodies
must come with a ``Content-Length`` (a chunked request is answered ``411``).

As a module::

    with FakePushService() as push:
        browser = push.new_subscriber()          # or new_subscriber(application_server_key=raw)
        browser.subscription()                   # {"endpoint", "keys": {"p256dh", "auth"}}
        ... make Parley push to it ...
        [push_record] = push.wait_for_pushes(1)  # raises AssertionError, with what came, on timeout
        push_record["json"]                      # the decrypted payload, parsed
        push.respond_next(410)                   # the next valid push is answered 410
        push.respond_next(429, retry_after=30, subscriber=browser)
        push.hang_next()                         # read the next valid push and never answer
        push.requests                            # every request and the status it got

An injected answer (``respond_next``, ``hang_next``) goes to the next request that passes
every check, so a malformed request still gets its ``400``/``403`` and shows up. Injections
for a subscriber come before those for every subscriber. Hung requests are released (their
connections closed without an answer) when the fake closes.

Each push record: ``subscriber_id``, ``headers`` (keys lower-cased, lookups ignore case),
``payload`` (decrypted bytes), ``json`` (parsed, or None), ``claims`` (the JWT's), ``body``
(the encrypted bytes), ``location``, ``received_at`` (the fake's clock, ``time.time``).
Each request record: ``method``, ``path``, ``subscriber_id`` (None when unknown),
``headers``, ``body``, ``status`` (None while hung), ``error`` (the reason given, or None),
``payload``/``claims`` (when they got that far), ``received_at``.
"""

import base64
import hashlib
import hmac
import http.server
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_BODY_BYTES = 4096  # RFC 8030 section 7.2 / RFC 8291 section 4: what every service takes
MAX_READ_BYTES = 1 << 20  # the most of a body kept (the rest is read and dropped)
MAX_TTL_SECONDS = 28 * 86400  # longest retention; a larger TTL is answered with this one
MAX_EXP_AHEAD_SECONDS = 86400  # RFC 8292 section 2: exp at most 24 hours ahead
URGENCIES = ("very-low", "low", "normal", "high")
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
PUSH_PATH = re.compile(r"^/push/([^/]+)$")
KEY_INFO = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00"
NONCE_INFO = b"Content-Encoding: nonce\x00"


class DecryptError(ValueError):
    """A push body that does not decrypt, or breaks RFC 8188 / RFC 8291."""


def b64url_encode(raw):
    """base64url without padding, as Web Push uses everywhere."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Strict unpadded base64url; raises ValueError."""
    if isinstance(text, bytes):
        text = text.decode("ascii")
    if not BASE64URL.match(text) or len(text) % 4 == 1:
        raise ValueError(f"not base64url: {text[:40]!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_bytes(key):
    """The 65-byte uncompressed point of a P-256 public (or private) key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public_key(raw):
    """A P-256 public key from its 65-byte uncompressed point; raises ValueError."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point (65 bytes starting 0x04)")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def _hmac(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


class Headers(dict):
    """Request headers: keys lower-cased, lookups ignore case."""

    def __init__(self, items=()):
        super().__init__((name.lower(), value) for name, value in items)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __contains__(self, name):
        return super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


class Subscriber:
    """What a browser holds for one push subscription.

    A fresh P-256 key pair and 16-byte auth secret unless given (``private_key`` as a key
    object or its 32 raw bytes). ``endpoint`` and ``id`` are set by ``FakePushService``.
    """

    def __init__(self, private_key=None, auth=None, endpoint=None, application_server_key=None):
        if private_key is None:
            private_key = ec.generate_private_key(ec.SECP256R1())
        elif isinstance(private_key, (bytes, bytearray)):
            private_key = ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1())
        self.private_key = private_key
        self.auth = bytes(auth) if auth is not None else secrets.token_bytes(16)
        if len(self.auth) != 16:
            raise ValueError("the auth secret is 16 bytes")
        self.endpoint = endpoint
        self.id = None
        self.application_server_key = application_server_key

    @property
    def public_key(self):
        """The 65-byte uncompressed point (``p256dh`` before encoding)."""
        return public_key_bytes(self.private_key)

    @property
    def keys(self):
        return {"p256dh": b64url_encode(self.public_key), "auth": b64url_encode(self.auth)}

    def subscription(self):
        """The PushSubscription JSON a browser hands to the application."""
        return {"endpoint": self.endpoint, "keys": self.keys}

    def decrypt(self, body, max_records=None):
        """The plaintext of an ``aes128gcm`` push body (RFC 8188, RFC 8291); raises DecryptError."""
        body = bytes(body)
        if len(body) < 21:
            raise DecryptError("body shorter than the aes128gcm header")
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        if rs < 18:
            raise DecryptError(f"record size {rs} below 18")
        if idlen != 65:
            raise DecryptError(f"keyid length {idlen}, not 65 (the sender's P-256 public key)")
        keyid = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        try:
            sender = load_public_key(keyid)
        except ValueError as error:
            raise DecryptError(f"keyid is not a P-256 public key: {error}") from None
        if not ciphertext:
            raise DecryptError("no record after the header")

        # RFC 8291 section 3.3-3.4: the key derivation, step by step.
        ecdh_secret = self.private_key.exchange(ec.ECDH(), sender)
        prk_key = _hmac(self.auth, ecdh_secret)  # HKDF-Extract(salt=auth_secret, IKM=ecdh_secret)
        key_info = KEY_INFO + self.public_key + keyid  # ua_public || as_public
        ikm = _hmac(prk_key, key_info + b"\x01")  # HKDF-Expand(PRK_key, key_info, 32)
        prk = _hmac(salt, ikm)  # HKDF-Extract(salt, IKM)
        cek = _hmac(prk, CEK_INFO + b"\x01")[:16]
        nonce = int.from_bytes(_hmac(prk, NONCE_INFO + b"\x01")[:12], "big")

        records = [ciphertext[at : at + rs] for at in range(0, len(ciphertext), rs)]
        if max_records is not None and len(records) > max_records:
            raise DecryptError(f"{len(records)} records; at most {max_records} allowed")
        aead = AESGCM(cek)
        plaintext = bytearray()
        for sequence, record in enumerate(records):
            last = sequence == len(records) - 1
            if len(record) < 17:
                raise DecryptError(f"record {sequence} too short ({len(record)} bytes)")
            record_nonce = (nonce ^ sequence).to_bytes(12, "big")  # RFC 8188 section 2.3
            try:
                padded = aead.decrypt(record_nonce, record, None)
            except InvalidTag:
                raise DecryptError(f"record {sequence} fails authentication") from None
            content = padded.rstrip(b"\x00")
            if not content:
                raise DecryptError(f"record {sequence} has no delimiter")
            expected = 2 if last else 1
            if content[-1] != expected:
                raise DecryptError(
                    f"record {sequence} ends in delimiter {content[-1]:#04x}, not {expected:#04x}"
                )
            plaintext += content[:-1]
        return bytes(plaintext)


class _Answer(Exception):
    """An answer to write; raised as a rejection by the checks."""

    def __init__(self, status, text="", headers=None):
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


_Reject = _Answer


class FakePushService:
    """A fake push service on ``host`` (port 0 picks a free one), serving from threads."""

    def __init__(self, host="127.0.0.1", port=0, clock=time.time):
        self.clock = clock
        self.lock = threading.Lock()  # guards every attribute below
        self.changed = threading.Condition(self.lock)
        self.subscribers = {}  # id -> Subscriber
        self.expired = set()  # ids answered 410
        self.pushes = []
        self.requests = []
        self.injections = {}  # subscriber id, or None for all -> [{"status", "retry_after"}]
        self.connections = {}  # handler thread -> its socket, to close them at the end
        self.stopping = threading.Event()
        self.server = _Server((host, port), _Handler)
        self.server.fake = self
        self.thread = None

    # -- life cycle -------------------------------------------------------------------

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def origin(self):
        """What VAPID's ``aud`` must be for this fake's endpoints."""
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def close(self):
        """Stops serving, releases hung requests and closes every connection."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self.thread is not None:
            self.server.shutdown()
        with self.lock:
            connections = list(self.connections.items())
        for _, connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread, _ in connections:
            thread.join(30)
        self.server.server_close()
        if self.thread is not None:
            self.thread.join()

    stop = close

    def __enter__(self):
        return self.start()

    def __exit__(self, *exception):
        self.close()

    # -- controls for tests -----------------------------------------------------------

    def new_subscriber(self, application_server_key=None, **keys):
        """A Subscriber with an endpoint on this fake (``keys``: Subscriber's arguments).

        ``application_server_key`` (65 raw bytes or base64url) restricts the subscription:
        pushes signed with another VAPID key are answered 403.
        """
        if isinstance(application_server_key, str):
            application_server_key = b64url_decode(application_server_key)
        subscriber = Subscriber(application_server_key=application_server_key, **keys)
        subscriber.id = secrets.token_urlsafe(16)
        subscriber.endpoint = f"{self.origin}/push/{subscriber.id}"
        with self.lock:
            self.subscribers[subscriber.id] = subscriber
        return subscriber

    def expire(self, subscriber):
        """The browser dropped this subscription: every later push is answered 410."""
        with self.lock:
            self.expired.add(self._id(subscriber))

    def respond_next(self, status, count=1, retry_after=None, subscriber=None):
        """The next ``count`` valid pushes (to ``subscriber``, or any) get ``status`` instead."""
        self._inject({"status": int(status), "retry_after": retry_after}, count, subscriber)

    def hang_next(self, count=1, subscriber=None):
        """The next ``count`` valid pushes are read and never answered (until ``close``)."""
        self._inject({"status": None, "retry_after": None}, count, subscriber)

    def reset(self):
        """Forgets recorded pushes, requests and pending injections (not the subscribers)."""
        with self.lock:
            self.pushes.clear()
            self.requests.clear()
            self.injections.clear()
            self.expired.clear()

    def wait_for_pushes(self, n, timeout=15.0):
        """The pushes so far, once at least ``n`` were accepted; AssertionError on timeout."""
        return self._wait("pushes", n, timeout)

    def wait_for_requests(self, n, timeout=15.0):
        """The requests so far, once at least ``n`` arrived; AssertionError on timeout."""
        return self._wait("requests", n, timeout)

    def _wait(self, name, n, timeout):
        with self.changed:
            records = getattr(self, name)
            if not self.changed.wait_for(lambda: len(records) >= n, timeout):
                seen = [(r["path"], r["status"], r["error"]) for r in self.requests]
                raise AssertionError(
                    f"waited {timeout} s for {n} {name}, got {len(records)}; "
                    f"requests (path, status, error): {seen}"
                )
            return list(records)

    def _id(self, subscriber):
        return subscriber.id if isinstance(subscriber, Subscriber) else subscriber

    def _inject(self, entry, count, subscriber):
        key = None if subscriber is None else self._id(subscriber)
        with self.lock:
            self.injections.setdefault(key, []).extend(dict(entry) for _ in range(count))

    # -- the push service -------------------------------------------------------------

    def serve(self, method, path, headers, body, too_large=False):
        """Answers one request; None means never answer."""
        record = dict(method=method, path=path, subscriber_id=None, headers=headers, body=body,
                      status=None, error=None, payload=None, claims=None, received_at=self.clock())
        try:
            subscriber = self._check(method, path, headers, body, too_large, record)
        except _Reject as rejection:
            record["status"], record["error"] = rejection.status, rejection.text
            self._record(record)
            return rejection

        with self.lock:
            injected = None
            for key in (subscriber.id, None):
                queue = self.injections.get(key)
                if queue:
                    injected = queue.pop(0)
                    break
        if injected is not None:
            if injected["status"] is None:
                record["error"] = "hung on request"
                self._record(record)
                return None
            status, headers_out = injected["status"], {}
            if injected["retry_after"] is not None:
                headers_out["Retry-After"] = str(injected["retry_after"])
            reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("injected",))[0]
            record["status"], record["error"] = status, f"injected: {reason}"
            self._record(record)
            return _Answer(status, reason, headers_out)

        location = f"{self.origin}/message/{secrets.token_urlsafe(16)}"
        try:
            parsed = json.loads(record["payload"].decode("utf-8"))
        except ValueError:
            parsed = None
        push = dict(subscriber_id=subscriber.id, headers=headers, payload=record["payload"],
                    json=parsed, claims=record["claims"], body=body, location=location,
                    received_at=record["received_at"])
        record["status"] = 201
        ttl = min(int(headers["TTL"].strip()), MAX_TTL_SECONDS)
        with self.changed:
            self.pushes.append(push)
            self.requests.append(record)
            self.changed.notify_all()
        return _Answer(201, "", {"Location": location, "TTL": str(ttl)})

    def _record(self, record):
        with self.changed:
            self.requests.append(record)
            self.changed.notify_all()

    def _check(self, method, path, headers, body, too_large, record):
        """The subscriber a valid push is for; raises _Reject. Fills ``record`` as it goes."""
        match = PUSH_PATH.match(path)
        if match is None:
            raise _Reject(404, "Not Found")
        if method != "POST":
            raise _Reject(405, "Method Not Allowed", {"Allow": "POST"})
        with self.lock:
            subscriber = self.subscribers.get(match.group(1))
            expired = match.group(1) in self.expired
        if subscriber is None:
            raise _Reject(404, "No such subscription")
        record["subscriber_id"] = subscriber.id
        if expired:
            raise _Reject(410, "Subscription expired")

        ttl = headers.get("TTL")
        if ttl is None:
            raise _Reject(400, "Missing TTL header")
        if not re.fullmatch(r"[0-9]+", ttl.strip()):
            raise _Reject(400, f"Invalid TTL header: {ttl!r}")
        encoding = headers.get("Content-Encoding")
        if encoding is None or encoding.strip().lower() != "aes128gcm":
            raise _Reject(400, f"Unsupported Content-Encoding: {encoding!r} (want aes128gcm)")
        urgency = headers.get("Urgency")
        if urgency is not None and urgency.strip() not in URGENCIES:
            raise _Reject(400, f"Invalid Urgency header: {urgency!r}")
        topic = headers.get("Topic")
        if topic is not None and not TOPIC.match(topic.strip()):
            raise _Reject(400, f"Invalid Topic header (1-32 base64url characters): {topic!r}")
        if too_large or len(body) > MAX_BODY_BYTES:
            raise _Reject(413, f"Payload Too Large (at most {MAX_BODY_BYTES} bytes)")

        record["claims"] = self._check_vapid(headers.get("Authorization"), subscriber)
        try:
            record["payload"] = subscriber.decrypt(body, max_records=1)
        except DecryptError as error:
            raise _Reject(400, f"Decryption failed: {error}") from None
        return subscriber

    def _check_vapid(self, authorization, subscriber):
        """The JWT claims of a valid ``vapid`` Authorization; raises _Reject."""
        challenge = {"WWW-Authenticate": "vapid"}
        if not authorization:
            raise _Reject(401, "Missing Authorization header", challenge)
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() != "vapid":
            raise _Reject(401, f"Authorization scheme {scheme!r}, not vapid", challenge)
        parameters = {}
        for part in rest.split(","):
            name, equals, value = part.strip().partition("=")
            if not equals:
                raise _Reject(403, "Malformed vapid Authorization")
            parameters[name.strip().lower()] = value.strip().strip('"')
        token, key = parameters.get("t"), parameters.get("k")
        if not token or not key:
            raise _Reject(403, "vapid Authorization needs t= and k=")
        try:
            key_raw = b64url_decode(key)
            public_key = load_public_key(key_raw)
        except ValueError as error:
            raise _Reject(403, f"Invalid vapid key k: {error}") from None
        if subscriber.application_server_key is not None and key_raw != subscriber.application_server_key:
            raise _Reject(403, "vapid key k is not the subscription's applicationServerKey")

        parts = token.split(".")
        if len(parts) != 3:
            raise _Reject(403, "JWT is not three dot-separated parts")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise _Reject(403, "JWT parts are not base64url JSON") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _Reject(403, "JWT header and claims must be JSON objects")
        if header.get("alg") != "ES256":
            raise _Reject(403, f"JWT alg {header.get('alg')!r}, not ES256")
        if "typ" in header and header["typ"] != "JWT":
            raise _Reject(403, f"JWT typ {header['typ']!r}, not JWT")
        if len(signature) != 64:
            raise _Reject(403, f"ES256 signature is {len(signature)} bytes, not 64 (r || s)")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise _Reject(403, "JWT signature does not verify with k") from None

        if claims.get("aud") != self.origin:
            raise _Reject(403, f"JWT aud {claims.get('aud')!r}, not {self.origin!r}")
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise _Reject(403, f"JWT exp {exp!r} is not a number")
        ahead = exp - self.clock()
        if not 0 < ahead <= MAX_EXP_AHEAD_SECONDS:
            raise _Reject(403, f"JWT exp is {ahead:.0f} s from now, not within (0, 86400]")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            raise _Reject(403, f"JWT sub {sub!r} is not a mailto: or https: contact")
        return claims


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def handle_error(self, request, client_address):
        if not self.fake.stopping.is_set():
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakePush/1.0"
    sys_version = ""

    def log_message(self, format, *arguments):  # noqa: A002 - the base class's name
        pass

    def setup(self):
        super().setup()
        fake = self.server.fake
        with fake.lock:
            fake.connections[threading.current_thread()] = self.connection
        if fake.stopping.is_set():  # accepted as close() ran: do not serve
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self):
        try:
            super().finish()
        finally:
            fake = self.server.fake
            with fake.lock:
                fake.connections.pop(threading.current_thread(), None)

    def read_body(self):
        """(body, too_large) by Content-Length. Bytes past MAX_READ_BYTES are read and
        dropped, so that the client can finish sending and read its 413."""
        body, too_large = bytearray(), False
        size = int(self.headers.get("Content-Length") or 0)
        while size > 0:
            chunk = self.rfile.read(min(size, 65536))
            if not chunk:
                raise ValueError("body ended early")
            size -= len(chunk)
            too_large = too_large or len(body) + len(chunk) > MAX_READ_BYTES
            if not too_large:
                body.extend(chunk)
        return bytes(body), too_large

    def handle_any(self):
        fake = self.server.fake
        if self.headers.get("Transfer-Encoding"):  # a narrowing: Parley sends Content-Length
            self.send_answer(_Answer(411, "This fake takes bodies with a Content-Length"))
            self.close_connection = True
            return
        try:
            body, too_large = self.read_body()
        except ValueError:
            self.send_answer(_Answer(400, "Bad framing"))
            self.close_connection = True
            return
        path = urllib.parse.urlsplit(self.path).path
        answer = fake.serve(self.command, path, Headers(self.headers.items()), body, too_large)
        if answer is None:
            fake.stopping.wait()
            self.close_connection = True
            return
        self.send_answer(answer)

    def send_answer(self, answer):
        payload = answer.text.encode("utf-8")
        self.send_response(answer.status)
        if payload:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any
