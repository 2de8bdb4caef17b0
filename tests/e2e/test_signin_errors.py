"""Every error of the sign-in table, with the development sender."""

import unittest

from parley_harness import PHONE, ServerTestCase

OTHER = "+14155550188"


def wrong(code):
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


class PhoneAndCodeErrorsTest(ServerTestCase):
    flags = ("--code-resend-interval", "0")

    def test_invalid_phone(self):
        for phone in ("", "   ", "call me", "+1 415 CALL NOW", "12", "+1 415", "+1 415 555 0123 999 99", "++14155550123"):
            with self.subTest(phone=phone):
                self.assertError(self.server.request_code(phone), 400, "invalid_phone")
        self.assertEqual(self.server.request_code(OTHER).status, 202)
        self.server.wait_for_code(OTHER)
        self.assertEqual(self.server.unread_codes(), {})
        self.assertError(self.server.verify("call me", "123456"), 400, "invalid_phone")

    def test_code_expired_when_none_was_requested(self):
        self.assertError(self.server.verify(OTHER, "123456", "Bob"), 410, "code_expired")

    def test_wrong_codes_count_down_then_burn_the_code(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        for attempts_left in (4, 3, 2, 1, 0):
            error = self.assertError(self.server.verify(PHONE, wrong(code), "Alice"), 400, "invalid_code")
            self.assertEqual(error.get("attempts_left"), attempts_left, error)
        # Brute force: the right code after five wrong ones is refused, and stays refused.
        for _ in range(2):
            response = self.server.verify(PHONE, code, "Alice")
            self.assertError(response, 429, "too_many_attempts")
            self.assertRetryAfter(response)
        # A new code (allowed here: resend interval 0) works again.
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        response = self.server.verify(PHONE, self.server.wait_for_code(PHONE), "Alice")
        self.assertEqual(response.status, 200, response)

    def test_a_malformed_code_is_an_invalid_code(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        for typed in ("", "12345", "1234567", "abcdef"):
            with self.subTest(code=typed):
                response = self.server.verify(PHONE, typed, "Alice")
                self.assertEqual(response.status, 400, response)
                self.assertIn(response.json()["error"]["code"], ("invalid_code", "bad_request"))
        self.assertEqual(self.server.verify(PHONE, code, "Alice").status, 200)

    def test_a_new_code_replaces_the_old_one(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        old = self.server.wait_for_code(PHONE)
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        new = self.server.wait_for_code(PHONE)
        if old != new:  # one chance in a million that they are equal
            self.assertError(self.server.verify(PHONE, old, "Alice"), 400, "invalid_code")
        response = self.server.verify(PHONE, new, "Alice")
        self.assertEqual(response.status, 200, response)

    def test_a_new_code_resets_the_attempts(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        for _ in range(4):
            self.server.verify(PHONE, wrong(code), "Alice")
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        error = self.assertError(self.server.verify(PHONE, wrong(code), "Alice"), 400, "invalid_code")
        self.assertEqual(error["attempts_left"], 4)

    def test_codes_are_per_phone(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        self.assertEqual(self.server.request_code(OTHER).status, 202)
        mine, theirs = self.server.wait_for_code(PHONE), self.server.wait_for_code(OTHER)
        if mine != theirs:
            self.assertError(self.server.verify(OTHER, mine, "Bob"), 400, "invalid_code")
        self.assertEqual(self.server.verify(OTHER, theirs, "Bob").status, 200)
        self.assertEqual(self.server.verify(PHONE, mine, "Alice").status, 200)

    def test_name_required_keeps_the_code_and_an_invalid_name_too(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        self.assertError(self.server.verify(PHONE, code), 422, "name_required")
        self.assertError(self.server.verify(PHONE, code), 422, "name_required")
        for name in ("", "  ", "x" * 65, "bell\x07"):
            with self.subTest(name=name):
                self.assertError(self.server.verify(PHONE, code, name), 400, "invalid_name")
        response = self.server.verify(PHONE, code, "Alice")
        self.assertEqual(response.status, 200, response)
        self.assertIs(response.json()["created"], True)


class ResendLimitTest(ServerTestCase):
    def test_second_code_within_the_resend_interval_is_rate_limited(self):
        first = self.server.request_code(PHONE)
        self.assertEqual(first.status, 202)
        self.assertEqual(first.json()["resend_in"], 30)
        response = self.server.request_code("(415) 555-0123")
        self.assertError(response, 429, "rate_limited")
        self.assertRetryAfter(response, 1, 30)
        # The first code still works.
        self.assertEqual(self.server.verify(PHONE, self.server.wait_for_code(PHONE), "Alice").status, 200)
        # Other numbers are not affected, and no second code went to the first.
        self.assertEqual(self.server.request_code(OTHER).status, 202)
        self.server.wait_for_code(OTHER)
        self.assertEqual(self.server.unread_codes(), {})

    def test_retry_after_follows_the_configured_interval(self):
        server = self.start_server("--code-resend-interval", "3600")
        self.assertEqual(server.request_code(PHONE).json()["resend_in"], 3600)
        response = server.request_code(PHONE)
        self.assertError(response, 429, "rate_limited")
        self.assertRetryAfter(response, 3000, 3600)


class HourlyCapsTest(ServerTestCase):
    flags = None  # each test starts a server with its own limits

    def test_codes_per_phone_per_hour(self):
        server = self.start_server("--code-resend-interval", "0", "--codes-per-phone-per-hour", "2")
        for _ in range(2):
            self.assertEqual(server.request_code(PHONE).status, 202)
        response = server.request_code(PHONE)
        self.assertError(response, 429, "rate_limited")
        self.assertRetryAfter(response, 1, 3600)
        self.assertEqual(server.request_code(OTHER).status, 202)
        server.wait_for_code(OTHER)
        self.assertEqual(len(server.unread_codes()[PHONE]), 2)

    def test_codes_per_address_per_hour(self):
        server = self.start_server("--code-resend-interval", "0", "--codes-per-address-per-hour", "3")
        phones = [f"+1415555{n:04d}" for n in range(200, 204)]
        for phone in phones[:3]:
            self.assertEqual(server.request_code(phone).status, 202)
        response = server.request_code(phones[3])
        self.assertError(response, 429, "rate_limited")
        self.assertRetryAfter(response, 1, 3600)
        for phone in phones[:3]:
            server.wait_for_code(phone)

    def test_address_cap_is_per_client_address_behind_a_trusted_proxy(self):
        server = self.start_server(
            "--code-resend-interval", "0", "--codes-per-address-per-hour", "1", "--trust-proxy"
        )
        first, second = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "10.0.0.1, 203.0.113.8"}
        self.assertEqual(server.request_code("+14155550301", headers=first).status, 202)
        self.assertError(server.request_code("+14155550302", headers=first), 429, "rate_limited")
        self.assertEqual(server.request_code("+14155550303", headers=second).status, 202)

    def test_forwarded_for_is_ignored_without_trust_proxy(self):
        server = self.start_server("--code-resend-interval", "0", "--codes-per-address-per-hour", "1")
        self.assertEqual(server.request_code("+14155550301", headers={"X-Forwarded-For": "203.0.113.7"}).status, 202)
        response = server.request_code("+14155550302", headers={"X-Forwarded-For": "203.0.113.8"})
        self.assertError(response, 429, "rate_limited")


if __name__ == "__main__":
    unittest.main()
