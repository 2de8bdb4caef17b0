"""Sign-in through Twilio, both modes, against the fake Twilio (fake_twilio.py) on loopback.

The fake checks every request as Twilio does (path, Basic auth, form fields) and records it.
"""

import base64
import re
import unittest

from fake_twilio import FakeTwilio
from parley_harness import PHONE, ServerTestCase

OTHER = "+14155550188"


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


class FakeTwilioTestCase(ServerTestCase):
    """One fake Twilio per class (reset before each test), one server per test."""

    flags = None

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeTwilio().start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        super().setUp()
        self.fake.reset()

    def credentials(self, auth_token=None):
        return {
            "TWILIO_ACCOUNT_SID": self.fake.account_sid,
            "TWILIO_AUTH_TOKEN": auth_token or self.fake.auth_token,
        }

    def assertTwilioRequest(self, request, path, form):
        self.assertEqual(request["method"], "POST")
        self.assertEqual(request["path"], path)
        expected = base64.b64encode(
            f"{self.fake.account_sid}:{self.fake.auth_token}".encode()
        ).decode()
        self.assertEqual(request["headers"].get("Authorization"), f"Basic {expected}")
        self.assertEqual(
            request["headers"].get("Content-Type", "").split(";")[0], "application/x-www-form-urlencoded"
        )
        self.assertEqual(request["form"], form)


class MessagesModeTest(FakeTwilioTestCase):
    def start_messages_server(self, *flags, auth_token=None):
        env = dict(
            self.credentials(auth_token),
            TWILIO_PHONE_NUMBER=self.fake.phone_number,
            TWILIO_API_BASE=self.fake.base_url,
        )
        server = self.start_server(*flags, env=env)
        server.wait_for_log(r"sms\.sender name=twilio-messages")
        return server

    def sms_code(self, message):
        match = re.search(r"\b([0-9]{6})\b", message["body"])
        self.assertIsNotNone(match, message)
        return match.group(1)

    def test_code_is_sent_by_sms_and_signs_in(self):
        server = self.start_messages_server()
        response = server.request_code("(415) 555-0123")
        self.assertEqual(response.status, 202, response)
        self.assertEqual(response.json()["phone"], PHONE)

        messages = self.fake.snapshot("messages")
        self.assertEqual(len(messages), 1, messages)
        message = messages[0]
        self.assertEqual((message["to"], message["from"]), (PHONE, self.fake.phone_number))
        code = self.sms_code(message)
        [request] = self.fake.snapshot("requests")
        self.assertTwilioRequest(
            request,
            f"/2010-04-01/Accounts/{self.fake.account_sid}/Messages.json",
            {"To": PHONE, "From": self.fake.phone_number, "Body": message["body"]},
        )
        self.assertEqual(server.unread_codes(), {})  # not in the log in this mode
        self.assertNotIn(code, server.log())

        self.assertError(server.verify(PHONE, wrong(code), "Alice"), 400, "invalid_code")
        self.assertError(server.verify(PHONE, code), 422, "name_required")
        response = server.verify(PHONE, code, "Alice")
        self.assertEqual(response.status, 200, response)
        self.assertIs(response.json()["created"], True)
        self.assertEqual(server.get("/api/v1/me", token=response.json()["token"]).status, 200)

    def test_twilio_error_becomes_sms_failed_with_twilios_message(self):
        server = self.start_messages_server()
        message = f"The 'To' number {OTHER} is not a valid phone number."
        self.fake.set_next_error(400, 21211, message)
        response = server.request_code(OTHER)
        error = self.assertError(response, 502, "sms_failed")
        self.assertEqual(error["message"], message)
        self.assertEqual(self.fake.snapshot("messages"), [])
        self.assertTrue(server.healthy())

    def test_a_failed_sms_can_be_retried_at_once(self):
        server = self.start_messages_server()
        self.fake.set_next_error(400, 21211, "The 'To' number +14155550123 is not a valid phone number.")
        self.assertError(server.request_code(PHONE), 502, "sms_failed")
        self.assertEqual(server.request_code(PHONE).status, 202)

    def test_twilio_server_error_without_json_becomes_sms_failed(self):
        server = self.start_messages_server()
        self.fake.set_next_error(503, body="<html>Service Unavailable</html>")
        self.assertError(server.request_code(PHONE), 502, "sms_failed")
        self.assertTrue(server.healthy())

    def test_wrong_auth_token_becomes_sms_failed(self):
        server = self.start_messages_server(auth_token="not-the-token")
        error = self.assertError(server.request_code(PHONE), 502, "sms_failed")
        self.assertIn("Authenticate", error["message"])
        self.assertEqual(self.fake.snapshot("messages"), [])
        self.assertEqual(len(self.fake.snapshot("requests")), 1)

    def test_twilio_that_never_answers_becomes_sms_failed_after_the_timeout(self):
        server = self.start_messages_server("--sms-timeout", "1")
        self.fake.set_next_error(0)  # read the request, never answer
        self.assertError(server.request_code(PHONE), 502, "sms_failed")
        self.assertTrue(server.healthy())
        self.assertEqual(server.request_code(OTHER).status, 202)  # the next one goes through


class VerifyModeTest(FakeTwilioTestCase):
    def setUp(self):
        super().setUp()
        env = dict(
            self.credentials(),
            TWILIO_VERIFY_SERVICE_SID=self.fake.verify_service_sid,
            TWILIO_VERIFY_API_BASE=self.fake.base_url,
        )
        self.server = self.start_server("--code-resend-interval", "0", env=env)
        self.server.wait_for_log(r"sms\.sender name=twilio-verify")
        self.service = f"/v2/Services/{self.fake.verify_service_sid}"

    def request_verification(self, phone=PHONE):
        response = self.server.request_code(phone)
        self.assertEqual(response.status, 202, response)
        self.assertEqual(response.json()["phone"], phone)
        codes = self.fake.snapshot("verify_codes")
        self.assertIn(phone, codes)
        return codes[phone]

    def test_verification_is_started_and_checked_at_twilio(self):
        code = self.request_verification()
        self.assertEqual(self.fake.snapshot("messages"), [])
        [start] = self.fake.snapshot("requests")
        self.assertTwilioRequest(start, f"{self.service}/Verifications", {"To": PHONE, "Channel": "sms"})

        self.assertError(self.server.verify(PHONE, code), 422, "name_required")
        response = self.server.verify(PHONE, code, "Alice")  # the code stayed valid
        self.assertEqual(response.status, 200, response)
        body = response.json()
        self.assertIs(body["created"], True)
        self.assertEqual(body["user"]["phone"], PHONE)
        checks = [r for r in self.fake.snapshot("requests") if r["path"].endswith("/VerificationCheck")]
        self.assertTrue(checks)
        self.assertTwilioRequest(checks[-1], f"{self.service}/VerificationCheck", {"To": PHONE, "Code": code})
        self.assertEqual(self.server.get("/api/v1/me", token=body["token"]).json(), {"user": body["user"]})

    def test_wrong_code_is_invalid_code(self):
        code = self.request_verification()
        error = self.assertError(self.server.verify(PHONE, wrong(code), "Alice"), 400, "invalid_code")
        self.assertEqual(error.get("attempts_left"), 4)
        self.assertEqual(self.server.verify(PHONE, code, "Alice").status, 200)

    def test_right_code_after_too_many_wrong_is_refused(self):
        code = self.request_verification()
        for attempts_left in (4, 3, 2, 1, 0):
            error = self.assertError(self.server.verify(PHONE, wrong(code), "Alice"), 400, "invalid_code")
            self.assertEqual(error.get("attempts_left"), attempts_left)
        response = self.server.verify(PHONE, code, "Alice")
        self.assertError(response, 429, "too_many_attempts")
        self.assertRetryAfter(response)

    def test_no_verification_is_code_expired(self):
        self.assertError(self.server.verify(OTHER, "123456", "Bob"), 410, "code_expired")

    def test_expired_verification_is_code_expired(self):
        code = self.request_verification()
        self.fake.expire_verification(PHONE)
        self.assertError(self.server.verify(PHONE, code, "Alice"), 410, "code_expired")

    def test_twilio_error_on_start_becomes_sms_failed(self):
        self.fake.set_next_error(429, 60203, "Max send attempts reached")
        error = self.assertError(self.server.request_code(PHONE), 502, "sms_failed")
        self.assertEqual(error["message"], "Max send attempts reached")
        self.assertTrue(self.server.healthy())


if __name__ == "__main__":
    unittest.main()
