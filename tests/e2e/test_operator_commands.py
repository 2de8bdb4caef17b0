"""Operator commands: `parley users add|import` and `parley tokens issue` act on the database
directly (no SMS), and the tokens they print sign in to a running server."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from parley_harness import BINARY, TIMEOUT, ParleyServer, _environment


class OperatorCommandsTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="parley-operator-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.database = os.path.join(self.directory, "parley.db")

    def parley(self, *arguments, stdin=""):
        return subprocess.run(
            [BINARY, *arguments, "--database", self.database],
            env=_environment(None),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def test_users_add_prints_the_account_and_keeps_an_existing_one(self):
        added = self.parley("users", "add", "--phone", "(415) 555-0101", "--name", " Alice ")
        self.assertEqual(added.returncode, 0, added.stderr)
        first = json.loads(added.stdout)
        self.assertEqual(first["user"]["phone"], "+14155550101")
        self.assertEqual(first["user"]["name"], "Alice")
        self.assertIs(first["created"], True)
        self.assertNotIn("token", first)

        again = self.parley("users", "add", "--phone", "+14155550101", "--name", "Other")
        self.assertEqual(again.returncode, 0, again.stderr)
        second = json.loads(again.stdout)
        self.assertEqual(second["user"], first["user"])
        self.assertIs(second["created"], False)

    def test_users_add_refuses_bad_input_with_the_contract_codes(self):
        for arguments, code in (
            (("--phone", "12", "--name", "Alice"), "invalid_phone"),
            (("--phone", "+14155550101", "--name", "   "), "invalid_name"),
        ):
            result = self.parley("users", "add", *arguments)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertEqual(result.stdout, "")
            self.assertIn(f"parley: {code}:", result.stderr)
        missing = self.parley("users", "add", "--phone", "+14155550101")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("--name", missing.stderr)

    def test_import_reports_each_line_in_order_and_adds_the_valid_ones(self):
        lines = "\n".join([
            "+14155550102,Carol",
            "no comma here",
            "",
            "# a comment",
            "+1415,Too short",
            "415 555 0104,Dan, Jr.",
        ]) + "\n"
        result = self.parley("users", "import", "--tokens", stdin=lines)
        self.assertEqual(result.returncode, 1, result.stderr)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual([row["line"] for row in rows], [1, 2, 5, 6])
        self.assertEqual(rows[0]["user"]["name"], "Carol")
        self.assertEqual(rows[1]["error"]["code"], "bad_request")
        self.assertEqual(rows[2]["error"]["code"], "invalid_phone")
        self.assertEqual(rows[3]["user"], {"id": rows[3]["user"]["id"], "name": "Dan, Jr.", "phone": "+14155550104",
                                           "avatar_url": None})
        self.assertNotEqual(rows[0]["token"], rows[3]["token"])

        clean = self.parley("users", "import", stdin="+14155550105,Erin\n")
        self.assertEqual(clean.returncode, 0, clean.stderr)
        self.assertNotIn("token", json.loads(clean.stdout))

    def test_issued_tokens_sign_in_to_the_server_and_unknown_numbers_are_refused(self):
        added = self.parley("users", "add", "--phone", "+14155550101", "--name", "Alice", "--token")
        self.assertEqual(added.returncode, 0, added.stderr)
        from_add = json.loads(added.stdout)["token"]
        issued = self.parley("tokens", "issue", "--phone", "415 555 0101")
        self.assertEqual(issued.returncode, 0, issued.stderr)
        from_issue = issued.stdout.strip()
        self.assertNotEqual(from_add, from_issue)

        unknown = self.parley("tokens", "issue", "--phone", "+14155550199")
        self.assertEqual(unknown.returncode, 1)
        self.assertEqual(unknown.stdout, "")
        self.assertIn("parley: user_not_found:", unknown.stderr)

        server = ParleyServer(directory=self.directory)
        self.addCleanup(server.close)
        for token in (from_add, from_issue):
            response = server.get("/api/v1/me", token=token)
            self.assertEqual(response.status, 200, response)
            self.assertEqual(response.json()["user"]["name"], "Alice")
        self.assertEqual(server.get("/api/v1/me", token=from_issue + "x").status, 401)


if __name__ == "__main__":
    unittest.main()
