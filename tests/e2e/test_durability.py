"""Durability: whatever the server acknowledged survives SIGKILL right after the answer."""

import base64
import concurrent.futures
import os
import unittest

from parley_harness import PHONE, ServerTestCase

ME = "/api/v1/me"


class SigkillTest(ServerTestCase):
    flags = ("--code-resend-interval", "0")

    def restart(self):
        """SIGKILLs the server and starts a new one on the same database."""
        self.server.kill()
        self.server = self.start_server(*self.flags, directory=self.server.directory)
        return self.server

    def test_user_and_session_survive_sigkill_after_verify(self):
        signed_in = self.server.sign_in(PHONE, "Alice")
        server = self.restart()
        response = server.get(ME, token=signed_in["token"])
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"user": signed_in["user"]})
        # The user exists: signing in again finds it.
        self.assertEqual(server.request_code(PHONE).status, 202)
        again = server.verify(PHONE, server.wait_for_code(PHONE)).json()
        self.assertIs(again["created"], False)
        self.assertEqual(again["user"], signed_in["user"])

    def test_rename_and_logout_survive_sigkill(self):
        token = self.server.sign_in(PHONE, "Alice")["token"]
        response = self.server.request("PATCH", ME, {"name": "Alicia"}, token=token)
        self.assertEqual(response.status, 200, response)
        server = self.restart()
        self.assertEqual(server.get(ME, token=token).json()["user"]["name"], "Alicia")
        self.assertEqual(server.post("/api/v1/auth/logout", token=token).status, 204)
        server = self.restart()
        self.assertEqual(server.get(ME, token=token).status, 401)

    def test_concurrent_sign_ins_all_survive_sigkill(self):
        phones = [f"+1415555{n:04d}" for n in range(300, 316)]
        with concurrent.futures.ThreadPoolExecutor(len(phones)) as pool:
            results = list(pool.map(lambda phone: self.server.sign_in(phone, f"User {phone[-4:]}"), phones))
        server = self.restart()
        self.assertEqual(len({result["user"]["id"] for result in results}), len(phones))
        for result in results:
            response = server.get(ME, token=result["token"])
            self.assertEqual(response.status, 200, response)
            self.assertEqual(response.json(), {"user": result["user"]})

    def test_a_used_code_stays_used_after_sigkill(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        self.assertEqual(self.server.verify(PHONE, code, "Alice").status, 200)
        server = self.restart()
        self.assertError(server.verify(PHONE, code), 410, "code_expired")

    def test_a_burnt_code_stays_burnt_after_sigkill(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        code = self.server.wait_for_code(PHONE)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(4):
            self.assertEqual(self.server.verify(PHONE, wrong, "Alice").status, 400)
        server = self.restart()
        error = self.assertError(server.verify(PHONE, wrong, "Alice"), 400, "invalid_code")
        self.assertEqual(error["attempts_left"], 0)
        self.assertError(server.verify(PHONE, code, "Alice"), 429, "too_many_attempts")

    def stored_bytes(self):
        """Every byte the server keeps in its directory (the database, its WAL, uploads)."""
        data = b""
        for root, _, names in os.walk(self.server.directory):
            for name in names:
                with open(os.path.join(root, name), "rb") as file:
                    data += file.read()
        return data

    def test_tokens_and_codes_are_not_stored_or_logged_in_clear(self):
        self.assertEqual(self.server.request_code(PHONE).status, 202)
        pending = self.server.wait_for_code(PHONE)
        token = self.server.sign_in("+14155550199", "Bob")["token"]
        stored = self.stored_bytes()
        self.assertIn(b"+14155550199", stored)  # the rows are there...
        self.assertNotIn(token.encode(), stored)  # ...but not the token, as text or bytes
        self.assertNotIn(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), stored)
        if pending not in PHONE + "+14155550199":  # a code could be a run of a number's digits
            self.assertNotIn(pending.encode(), stored)
        self.assertNotIn(token, self.server.log())


if __name__ == "__main__":
    unittest.main()
