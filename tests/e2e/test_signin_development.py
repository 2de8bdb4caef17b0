"""Sign-in end to end with the development sender (codes read from the server log)."""

import unittest

from parley_harness import PHONE, ServerTestCase

ME = "/api/v1/me"
LOGOUT = "/api/v1/auth/logout"


def cookie_parts(response):
    """The single parley_session Set-Cookie as (value, [attributes])."""
    cookies = [c for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("parley_session=")]
    assert len(cookies) == 1, f"expected one parley_session cookie, got {cookies}"
    first, *attributes = [part.strip() for part in cookies[0].split(";")]
    return first[len("parley_session="):], attributes


class SignInFlowTest(ServerTestCase):
    def test_new_number_needs_a_name_then_signs_in_with_a_cookie(self):
        response = self.server.request_code("(415) 555-0123")  # national, default region US
        self.assertEqual(response.status, 202, response)
        self.assertEqual(response.json(), {"phone": PHONE, "expires_in": 600, "resend_in": 30})
        code = self.server.wait_for_code(PHONE)
        self.assertRegex(code, r"^[0-9]{6}$")

        self.assertError(self.server.verify(PHONE, code), 422, "name_required")
        # The code stays valid after name_required.
        response = self.server.verify("+1 (415) 555-0123", code, "  Alice  ")
        self.assertEqual(response.status, 200, response)
        body = response.json()
        self.assertEqual(set(body), {"token", "user", "created"})
        self.assertIs(body["created"], True)
        self.assertIsInstance(body["user"]["id"], int)
        self.assertEqual(body["user"], {"id": body["user"]["id"], "name": "Alice", "phone": PHONE,
                                        "avatar_url": None, "notification_previews": True})
        self.assertIsInstance(body["token"], str)
        self.assertGreaterEqual(len(body["token"]), 32)

        value, attributes = cookie_parts(response)
        self.assertEqual(value, body["token"])
        required = ["HttpOnly", "SameSite=Lax", "Path=/"]
        for attribute in required:
            self.assertIn(attribute, attributes)
        self.assertNotIn("Secure", attributes)  # plain http, no proxy
        for attribute in attributes:
            if attribute not in required:  # only a lifetime may be added
                self.assertRegex(attribute, r"^Max-Age=[1-9][0-9]*$")

        # The code is single use.
        self.assertError(self.server.verify(PHONE, code, "Alice"), 410, "code_expired")

    def test_cookie_is_secure_behind_an_https_proxy(self):
        server = self.start_server("--trust-proxy")
        https = {"X-Forwarded-Proto": "https"}
        self.assertEqual(server.request_code(PHONE, headers=https).status, 202)
        response = server.verify(PHONE, server.wait_for_code(PHONE), "Alice", headers=https)
        self.assertEqual(response.status, 200, response)
        value, attributes = cookie_parts(response)
        self.assertEqual(value, response.json()["token"])
        for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            self.assertIn(attribute, attributes)

    def test_forwarded_proto_is_ignored_without_trust_proxy(self):
        https = {"X-Forwarded-Proto": "https"}
        self.assertEqual(self.server.request_code(PHONE, headers=https).status, 202)
        response = self.server.verify(PHONE, self.server.wait_for_code(PHONE), "Alice", headers=https)
        self.assertNotIn("Secure", cookie_parts(response)[1])

    def test_e164_with_punctuation_is_accepted(self):
        for typed in ("+1 415-555-0124", "+1.415.555.0125", "+1 (415) 555 0126"):
            with self.subTest(typed=typed):
                response = self.server.request_code(typed)
                self.assertEqual(response.status, 202, response)
                expected = "+1" + "".join(ch for ch in typed if ch.isdigit())[1:]
                self.assertEqual(response.json()["phone"], expected)
                self.assertRegex(self.server.wait_for_code(expected), r"^[0-9]{6}$")


class SessionTest(ServerTestCase):
    flags = ("--code-resend-interval", "0")

    def setUp(self):
        super().setUp()
        self.signed_in = self.server.sign_in(PHONE, "Alice")
        self.token = self.signed_in["token"]
        self.user = self.signed_in["user"]

    def patch_me(self, body, **options):
        return self.server.request("PATCH", ME, body, **options)

    def test_second_sign_in_finds_the_same_user(self):
        self.assertEqual(self.server.request_code("415.555.0123").status, 202)
        response = self.server.verify(PHONE, self.server.wait_for_code(PHONE))  # no name needed
        self.assertEqual(response.status, 200, response)
        second = response.json()
        self.assertIs(second["created"], False)
        self.assertEqual(second["user"], self.user)
        self.assertNotEqual(second["token"], self.token)
        # A name given on a later sign-in does not rename the user.
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        third = self.server.verify(PHONE, self.server.wait_for_code(PHONE), "Mallory").json()
        self.assertIs(third["created"], False)
        self.assertEqual(third["user"], self.user)
        for token in (self.token, second["token"], third["token"]):  # all sessions valid
            self.assertEqual(self.server.get(ME, token=token).json(), {"user": self.user})

    def test_me_with_bearer_and_with_cookie(self):
        for credentials in ({"token": self.token}, {"cookie": self.token}):
            with self.subTest(**credentials):
                response = self.server.get(ME, **credentials)
                self.assertEqual(response.status, 200, response)
                self.assertEqual(response.json(), {"user": self.user})

    def test_me_without_or_with_a_wrong_credential_is_unauthorized(self):
        self.assertError(self.server.get(ME), 401, "unauthorized")
        self.assertError(self.server.get(ME, token="x" * 43), 401, "unauthorized")
        self.assertError(self.server.get(ME, cookie="x" * 43), 401, "unauthorized")
        self.assertError(
            self.server.get(ME, headers={"Authorization": f"Basic {self.token}"}), 401, "unauthorized"
        )

    def test_patch_me_trims_the_name(self):
        response = self.patch_me({"name": "  Alice Smith \t"}, token=self.token)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"user": dict(self.user, name="Alice Smith")})
        self.assertEqual(self.server.get(ME, token=self.token).json()["user"]["name"], "Alice Smith")

    def test_patch_me_accepts_64_characters_of_unicode(self):
        name = "Zoë 🙂" + "é" * 59
        self.assertEqual(len(name), 64)
        response = self.patch_me({"name": name}, token=self.token)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json()["user"]["name"], name)

    def test_patch_me_refuses_invalid_names(self):
        for name in ("", "   ", "x" * 65, "a\x01b", "line\nbreak", "tab\u007f"):
            with self.subTest(name=name):
                self.assertError(self.patch_me({"name": name}, token=self.token), 400, "invalid_name")
        for body in ({}, {"name": 5}, {"name": None}, {"name": ["Alice"]}):
            with self.subTest(body=body):
                self.assertError(self.patch_me(body, token=self.token), 400, "bad_request")
        self.assertEqual(self.server.get(ME, token=self.token).json()["user"]["name"], "Alice")

    def test_patch_me_needs_credentials(self):
        self.assertError(self.patch_me({"name": "Bob"}), 401, "unauthorized")

    def test_cookie_writes_need_an_allowed_origin(self):
        self.assertError(self.patch_me({"name": "Bob"}, cookie=self.token), 403, "forbidden_origin")
        evil = {"Origin": "http://evil.example"}
        self.assertError(
            self.patch_me({"name": "Bob"}, cookie=self.token, headers=evil), 403, "forbidden_origin"
        )
        # An Origin that is present and foreign is refused with a bearer token too.
        self.assertError(
            self.patch_me({"name": "Bob"}, token=self.token, headers=evil), 403, "forbidden_origin"
        )
        own = {"Origin": self.server.origin}
        response = self.patch_me({"name": "Bob"}, cookie=self.token, headers=own)
        self.assertEqual(response.status, 200, response)
        # The request's own Host is an allowed origin too.
        host = {"Host": f"localhost:{self.server.port}", "Origin": f"http://localhost:{self.server.port}"}
        response = self.patch_me({"name": "Carol"}, cookie=self.token, headers=host)
        self.assertEqual(response.status, 200, response)
        # Reads need no Origin.
        self.assertEqual(self.server.get(ME, cookie=self.token).json()["user"]["name"], "Carol")

    def test_cookie_logout_needs_an_allowed_origin(self):
        self.assertError(self.server.post(LOGOUT, cookie=self.token), 403, "forbidden_origin")
        self.assertEqual(self.server.get(ME, token=self.token).status, 200)

    def test_logout_with_bearer_revokes_and_clears_the_cookie(self):
        response = self.server.post(LOGOUT, token=self.token)
        self.assertEqual(response.status, 204, response)
        self.assertEqual(response.body, b"")
        value, attributes = cookie_parts(response)
        self.assertEqual(value, "")
        self.assertTrue("Max-Age=0" in attributes or any(a.startswith("Expires=") for a in attributes))
        self.assertIn("Path=/", attributes)
        self.assertError(self.server.get(ME, token=self.token), 401, "unauthorized")
        self.assertError(self.server.get(ME, cookie=self.token), 401, "unauthorized")
        self.assertError(self.server.post(LOGOUT, token=self.token), 401, "unauthorized")

    def test_logout_with_cookie_revokes(self):
        response = self.server.post(LOGOUT, cookie=self.token, headers={"Origin": self.server.origin})
        self.assertEqual(response.status, 204, response)
        self.assertEqual(cookie_parts(response)[0], "")
        self.assertError(self.server.get(ME, token=self.token), 401, "unauthorized")

    def test_logout_revokes_only_that_session(self):
        self.server.request_code(PHONE)
        other = self.server.verify(PHONE, self.server.wait_for_code(PHONE)).json()["token"]
        self.assertEqual(self.server.post(LOGOUT, token=self.token).status, 204)
        self.assertEqual(self.server.get(ME, token=other).status, 200)

    def test_logout_without_credentials_is_unauthorized(self):
        response = self.server.post(LOGOUT)
        self.assertError(response, 401, "unauthorized")
        self.assertEqual(self.server.get(ME, token=self.token).status, 200)


if __name__ == "__main__":
    unittest.main()
