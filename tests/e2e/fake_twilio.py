#!/usr/bin/python3
"""A fake Twilio on loopback for Parley's tests (Python 3 standard library only).

It checks every request the way Twilio's documented REST API does, so that a request
the fake accepts is one Twilio would accept:

* Programmable Messaging, ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``:
  HTTP Basic auth ``AccountSid:AuthToken`` (else ``401``, code 20003 "Authenticate"),
  the configured AccountSid in the path (else ``404``, code 20404), a
  ``application/x-www-form-urlencoded`` body (any other body reads as no parameters, as
  at Twilio), ``To`` (21604), ``From`` (21603) and ``Body`` (21602) present, ``To`` in
  E.164 (21211), ``From`` equal to the configured number (21606), ``Body`` at most 1600
  characters (21617). Success is ``201`` with a Message resource (``sid`` "SM" + 32 hex,
  ``status`` "queued", RFC 2822 dates, ``uri``...).
* Verify v2, ``POST /v2/Services/{ServiceSid}/Verifications`` (``To``, ``Channel=sms``;
  ``201`` with a Verification resource, status "pending") and
  ``POST /v2/Services/{ServiceSid}/VerificationCheck`` (``To``, ``Code``; ``200`` with
  status "approved"/valid true or "pending"/valid false). As at Twilio: a verification
  lives 10 minutes; a new one for a pending number resends the same code (the sixth send
  is ``429`` code 60203); five checks are allowed, the next is ``429`` code 60202; an
  approved, expired or never started verification answers ``404`` code 20404.
* Errors have Twilio's JSON shape:
  ``{"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}``.

Deliberate narrowings: only the ``sms`` channel is accepted, and only what Parley calls is
served (other Twilio paths answer 404 20404, other methods 405 20004).

As a module::

    with FakeTwilio(account_sid=..., auth_token=..., phone_number=..., verify_service_sid=...) as fake:
        fake.base_url            # "http://127.0.0.1:<port>", for both API bases
        fake.messages            # [{"sid", "to", "from", "body", "date_created"}, ...]
        fake.verify_codes        # {phone: latest 6-digit Verify code}
        fake.requests            # every request: method, path, headers, form, body
        fake.set_next_error(400, 21211, "The 'To' number ... is not a valid phone number.")
        fake.set_next_error(0)   # the next Twilio request is read and never answered
        fake.expire_verification(phone)

As a script (``/usr/bin/python3 fake_twilio.py --account-sid AC... --auth-token ...
--phone-number +1... --verify-service-sid VA... [--port 0] [--exit-on-stdin-eof]``) it
prints ``listening <port>`` on stdout and serves until killed (or, with
``--exit-on-stdin-eof``, until its stdin closes, e.g. because the test that started it
died). The same state is then reachable over HTTP on paths Twilio does not have (no auth):

* ``GET /_fake/messages``, ``GET /_fake/requests``, ``GET /_fake/verify_codes`` -> JSON
* ``POST /_fake/next_error`` with JSON ``{"status": 400, "code": 21211, "message": "..."}``
  (``"status": 0`` never answers; ``"body": "..."`` answers that raw text instead of JSON)
* ``POST /_fake/expire`` with JSON ``{"phone": "+1..."}``; ``POST /_fake/reset``
"""

import argparse
import base64
import binascii
import email.utils
import http.server
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
VERIFICATION_LIFETIME_SECONDS = 600
MAX_CHECK_ATTEMPTS = 5
MAX_SEND_ATTEMPTS = 5
MAX_BODY_CHARACTERS = 1600
MAX_REQUEST_BYTES = 1 << 20
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
VERIFICATIONS_PATH = re.compile(r"^/v2/Services/([^/]+)/Verifications$")
VERIFICATION_CHECK_PATH = re.compile(r"^/v2/Services/([^/]+)/VerificationCheck$")


def twilio_error(status, code, message):
    """Twilio's JSON error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def rfc2822_now():
    return email.utils.format_datetime(datetime.now(timezone.utc).replace(microsecond=0))


def iso8601_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_sid(prefix):
    return prefix + secrets.token_hex(16)


class Answer:
    """What the handler writes back: a status and a JSON value (or raw text)."""

    def __init__(self, status, json_value=None, text=None, headers=None):
        self.status = status
        self.json_value = json_value
        self.text = text
        self.headers = headers or {}

    @staticmethod
    def error(status, code, message, headers=None):
        return Answer(status, twilio_error(status, code, message), headers=headers)


class FakeTwilio:
    """A fake Twilio serving on ``host``:``port`` (0 picks a free port) from a thread."""

    def __init__(
        self,
        account_sid="AC" + "0" * 32,
        auth_token="test-auth-token",
        phone_number="+15005550006",
        verify_service_sid="VA" + "0" * 32,
        host="127.0.0.1",
        port=0,
        clock=time.monotonic,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.verify_service_sid = verify_service_sid
        self.clock = clock
        self.lock = threading.Lock()  # guards every attribute below
        self.messages = []
        self.requests = []
        self.verify_codes = {}
        self.verifications = {}  # phone -> {sid, code, created, sends, checks}
        self.next_error = None
        self.stopping = threading.Event()
        self.server = http.server.ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.thread = None

    # -- life cycle -------------------------------------------------------------------

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()  # releases requests held by set_next_error(0)
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exception):
        self.stop()

    # -- controls for tests -----------------------------------------------------------

    def set_next_error(self, status, code=None, message=None, body=None):
        """The next Twilio API request gets this answer instead of being served.

        ``status`` 0 reads the request and never answers. ``body`` answers that raw text
        (``text/plain``) instead of Twilio's JSON error.
        """
        if status == 0:
            answer = None
        elif body is not None:
            answer = Answer(status, text=body)
        else:
            code = code if code is not None else 20500
            answer = Answer.error(status, code, message or "Internal Server Error")
        with self.lock:
            self.next_error = ("hang", None) if answer is None else ("answer", answer)

    def expire_verification(self, phone):
        with self.lock:
            verification = self.verifications.get(phone)
            if verification is not None:
                verification["created"] -= VERIFICATION_LIFETIME_SECONDS + 1

    def reset(self):
        with self.lock:
            self.messages.clear()
            self.requests.clear()
            self.verify_codes.clear()
            self.verifications.clear()
            self.next_error = None

    def snapshot(self, name):
        with self.lock:
            return json.loads(json.dumps(getattr(self, name)))

    # -- the Twilio API ---------------------------------------------------------------

    def serve(self, method, path, headers, body_bytes):
        """Answers one request; None means never answer."""
        content_type = headers.get("Content-Type", "")
        form = {}
        if content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
            text = body_bytes.decode("utf-8", errors="replace")
            for key, values in urllib.parse.parse_qs(text, keep_blank_values=True).items():
                form[key] = values[0]
        with self.lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": dict(headers.items()),
                    "form": form,
                    "body": body_bytes.decode("utf-8", errors="replace"),
                }
            )
            injected, self.next_error = self.next_error, None
        if injected is not None:
            kind, answer = injected
            return None if kind == "hang" else answer

        for pattern, sid_attribute, serve in (
            (MESSAGES_PATH, "account_sid", self.create_message),
            (VERIFICATIONS_PATH, "verify_service_sid", self.create_verification),
            (VERIFICATION_CHECK_PATH, "verify_service_sid", self.check_verification),
        ):
            match = pattern.match(path)
            if match is None:
                continue
            if not self.authenticated(headers.get("Authorization", "")):
                return Answer.error(
                    401,
                    20003,
                    "Authenticate",
                    headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
                )
            if urllib.parse.unquote(match.group(1)) != getattr(self, sid_attribute):
                return self.not_found(path)
            if method != "POST":
                return Answer.error(405, 20004, "Method not allowed")
            return serve(form, path)
        return self.not_found(path)

    def authenticated(self, authorization):
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, separator, password = decoded.partition(":")
        return separator == ":" and user == self.account_sid and password == self.auth_token

    @staticmethod
    def not_found(path):
        return Answer.error(404, 20404, f"The requested resource {path} was not found")

    def create_message(self, form, path):
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return Answer.error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return Answer.error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return Answer.error(400, 21602, "Message body is required.")
        if not E164.match(to):
            return Answer.error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if sender != self.phone_number:
            return Answer.error(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone"
                " number or short code for your account.",
            )
        if len(body) > MAX_BODY_CHARACTERS:
            return Answer.error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        sid = new_sid("SM")
        now = rfc2822_now()
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": base + "/Media.json"},
            "to": to,
            "uri": base + ".json",
        }
        with self.lock:
            self.messages.append(
                {"sid": sid, "to": to, "from": sender, "body": body, "date_created": now}
            )
        return Answer(201, resource)

    def verification_resource(self, phone, verification, status, valid):
        now = iso8601_now()
        return {
            "sid": verification["sid"],
            "service_sid": self.verify_service_sid,
            "account_sid": self.account_sid,
            "to": phone,
            "channel": "sms",
            "status": status,
            "valid": valid,
            "amount": None,
            "payee": None,
            "date_created": verification["date_created"],
            "date_updated": now,
        }

    def live_verification(self, phone):
        """The pending verification for ``phone``; drops an expired one. Hold the lock."""
        verification = self.verifications.get(phone)
        if verification is None:
            return None
        if self.clock() - verification["created"] >= VERIFICATION_LIFETIME_SECONDS:
            del self.verifications[phone]
            self.verify_codes.pop(phone, None)
            return None
        return verification

    def create_verification(self, form, path):
        to, channel = form.get("To", ""), form.get("Channel", "")
        if not to:
            return Answer.error(400, 60200, "Invalid parameter: To")
        if not E164.match(to):
            return Answer.error(400, 60200, f"Invalid parameter `To`: {to}")
        if channel != "sms":
            return Answer.error(400, 60200, "Invalid parameter: Channel")
        with self.lock:
            verification = self.live_verification(to)
            if verification is None:
                verification = {
                    "sid": new_sid("VE"),
                    "code": f"{secrets.randbelow(1_000_000):06d}",
                    "created": self.clock(),
                    "date_created": iso8601_now(),
                    "sends": 0,
                    "checks": 0,
                }
                self.verifications[to] = verification
            if verification["sends"] >= MAX_SEND_ATTEMPTS:
                return Answer.error(429, 60203, "Max send attempts reached")
            verification["sends"] += 1
            self.verify_codes[to] = verification["code"]
            resource = self.verification_resource(to, verification, "pending", False)
        resource["lookup"] = {"carrier": None}
        resource["send_code_attempts"] = [
            {"attempt_sid": new_sid("VL"), "channel": "sms", "time": iso8601_now()}
        ]
        resource["sna"] = None
        resource["url"] = (
            f"https://verify.twilio.com/v2/Services/{self.verify_service_sid}"
            f"/Verifications/{verification['sid']}"
        )
        return Answer(201, resource)

    def check_verification(self, form, path):
        to, code = form.get("To", ""), form.get("Code", "")
        if not to:
            return Answer.error(400, 60200, "Invalid parameter: To")
        if not code:
            return Answer.error(400, 60200, "Invalid parameter: Code")
        with self.lock:
            verification = self.live_verification(to)
            if verification is None:
                return Answer.error(
                    404,
                    20404,
                    f"The requested resource /Services/{self.verify_service_sid}"
                    "/VerificationCheck was not found",
                )
            if verification["checks"] >= MAX_CHECK_ATTEMPTS:
                return Answer.error(429, 60202, "Max check attempts reached")
            verification["checks"] += 1
            approved = secrets.compare_digest(code, verification["code"])
            if approved:
                del self.verifications[to]
                self.verify_codes.pop(to, None)
            status = "approved" if approved else "pending"
            resource = self.verification_resource(to, verification, status, approved)
        resource["sna_attempts_error_codes"] = []
        return Answer(200, resource)

    # -- the control paths ------------------------------------------------------------

    def control(self, method, path, body_bytes):
        """Serves /_fake/...; None when ``path`` is not a control path."""
        if not path.startswith("/_fake/"):
            return None
        name = path[len("/_fake/") :]
        if method == "GET" and name in ("messages", "requests", "verify_codes"):
            return Answer(200, self.snapshot(name))
        if method != "POST":
            return Answer(405, {"error": "method not allowed"})
        try:
            arguments = json.loads(body_bytes or b"{}")
        except ValueError:
            return Answer(400, {"error": "body is not JSON"})
        if name == "next_error":
            self.set_next_error(
                int(arguments.get("status", 500)),
                arguments.get("code"),
                arguments.get("message"),
                arguments.get("body"),
            )
        elif name == "expire":
            self.expire_verification(arguments.get("phone", ""))
        elif name == "reset":
            self.reset()
        else:
            return Answer(404, {"error": "unknown control"})
        return Answer(200, {"ok": True})


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTwilio/1.0"
    sys_version = ""

    def log_message(self, format, *arguments):  # noqa: A002 - the base class's name
        pass

    def handle_any(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.send_answer(Answer.error(413, 20001, "Request entity too large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        path = urllib.parse.urlsplit(self.path).path
        answer = fake.control(self.command, path, body)
        if answer is None:
            answer = fake.serve(self.command, path, self.headers, body)
        if answer is None:
            fake.stopping.wait()
            self.close_connection = True
            return
        self.send_answer(answer)

    def send_answer(self, answer):
        if answer.text is not None:
            payload, content_type = answer.text.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(answer.json_value).encode(), "application/json"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def _exit_on_stdin_eof():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main(arguments=None):
    parser = argparse.ArgumentParser(description="A fake Twilio on loopback for tests.")
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="test-auth-token")
    parser.add_argument("--phone-number", default="+15005550006")
    parser.add_argument("--verify-service-sid", default="VA" + "0" * 32)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes, so that a test that dies takes the fake with it",
    )
    options = parser.parse_args(arguments)
    fake = FakeTwilio(
        account_sid=options.account_sid,
        auth_token=options.auth_token,
        phone_number=options.phone_number,
        verify_service_sid=options.verify_service_sid,
        host=options.host,
        port=options.port,
    )
    if options.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    print(f"listening {fake.port}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stopping.set()
        fake.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
