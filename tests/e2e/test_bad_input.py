"""Bad requests: each gets the error shape, and the server keeps serving afterwards."""

import http.client
import json
import unittest

from parley_harness import PHONE, ServerTestCase, send_raw

CODE = "/api/v1/auth/code"
VERIFY = "/api/v1/auth/verify"
JSON = {"Content-Type": "application/json"}


class BadInputTest(ServerTestCase):
    flags = ("--max-body-bytes", "4096", "--max-header-bytes", "4096")

    def tearDown(self):
        self.assertTrue(self.server.healthy(), "the server stopped serving")

    def test_body_is_not_json(self):
        for body in (b"not json", b'{"phone": "+14155550123"', b"", b"\xff\xfe{}", b'{"phone": "+1415"}}'):
            with self.subTest(body=body):
                self.assertError(self.server.post(CODE, body, headers=JSON), 400, "bad_request")

    def test_body_is_not_an_object(self):
        for body in ([PHONE], "+14155550123", 5, None, True):
            with self.subTest(body=body):
                raw = json.dumps(body)
                self.assertError(self.server.post(CODE, raw, headers=JSON), 400, "bad_request")

    def test_wrong_types(self):
        for path, body in (
            (CODE, {"phone": 14155550123}),
            (CODE, {"phone": None}),
            (CODE, {"phone": [PHONE]}),
            (VERIFY, {"phone": PHONE, "code": 123456}),
            (VERIFY, {"phone": 14155550123, "code": "123456"}),
            (VERIFY, {"phone": PHONE, "code": "123456", "name": 5}),
            (VERIFY, {"phone": PHONE, "code": "123456", "name": {"first": "A"}}),
        ):
            with self.subTest(path=path, body=body):
                self.assertError(self.server.post(path, body), 400, "bad_request")

    def test_missing_fields(self):
        for path, body in (
            (CODE, {}),
            (CODE, {"number": PHONE}),
            (VERIFY, {"phone": PHONE}),
            (VERIFY, {"code": "123456"}),
            (VERIFY, {}),
        ):
            with self.subTest(path=path, body=body):
                self.assertError(self.server.post(path, body), 400, "bad_request")

    def test_invalid_utf8_in_name(self):
        body = b'{"phone": "+14155550123", "code": "123456", "name": "Al\xffce"}'
        response = self.server.post(VERIFY, body, headers=JSON)
        self.assertEqual(response.status, 400, response)
        self.assertIn(response.json()["error"]["code"], ("bad_request", "invalid_name"))

    def test_non_json_content_type(self):
        body = '{"phone": "+14155550123"}'
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            with self.subTest(content_type=content_type):
                response = self.server.post(CODE, body, headers={"Content-Type": content_type})
                self.assertError(response, 400, "bad_request")
        # JSON with parameters is JSON.
        response = self.server.post(CODE, body, headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(response.status, 202, response)
        self.server.wait_for_code(PHONE)
        self.assertEqual(self.server.unread_codes(), {})  # the refused requests sent nothing

    def test_body_over_the_limit(self):
        response = self.server.post(CODE, {"phone": PHONE, "padding": "x" * 5000})
        self.assertError(response, 413, "payload_too_large")
        self.assertEqual(self.server.request_code("+14155550100").status, 202)
        self.server.wait_for_code("+14155550100")
        self.assertEqual(self.server.unread_codes(), {})

    def test_huge_content_length_is_refused_before_the_body(self):
        request = (
            f"POST {CODE} HTTP/1.1\r\nHost: {self.server.host}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        ).encode()
        answer = send_raw(self.server.host, self.server.port, request)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertIn(b'"payload_too_large"', answer)

    def test_a_large_body_still_gets_its_413(self):
        # The server reads and drops what the client keeps sending, so the client sees the
        # answer instead of a reset connection.
        body = json.dumps({"phone": PHONE, "padding": "x" * 2_000_000})
        for _ in range(3):
            response = self.server.post(CODE, body, headers=JSON)
            self.assertError(response, 413, "payload_too_large")

    def test_head_answers_like_get_without_a_body(self):
        response = self.server.request("HEAD", "/healthz")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, b"")
        self.assertEqual(response.headers.get("Content-Length"), str(len(b'{"status":"ok"}')))

    def test_headers_over_the_limit(self):
        response = self.server.get("/healthz", headers={"X-Padding": "x" * 5000})
        self.assertError(response, 431)  # the contract names no code for it

    def test_unknown_path_and_wrong_method(self):
        self.assertError(self.server.get("/api/v1/nothing"), 404, "not_found")
        response = self.server.get(CODE)
        self.assertError(response, 405, "method_not_allowed")
        self.assertIn("POST", response.headers.get("Allow", ""))
        response = self.server.request("DELETE", "/api/v1/me")
        self.assertError(response, 405, "method_not_allowed")
        self.assertEqual(
            {method.strip() for method in response.headers.get("Allow", "").split(",")}, {"GET", "PATCH"}
        )

    def test_garbage_on_the_socket(self):
        for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n", b"HELLO THERE\r\n\r\n"):
            with self.subTest(garbage=garbage[:12]):
                answer = send_raw(self.server.host, self.server.port, garbage)
                self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
                self.assertIn(b'"code":"bad_request"', answer.replace(b" ", b""))

    def test_many_bad_requests_on_one_keep_alive_connection(self):
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=20)
        self.addCleanup(connection.close)
        for body in (b"nope", b"[]", b'{"phone": 1}', b'{"phone": "x"}'):
            connection.request("POST", CODE, body=body, headers=JSON)
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 400)
        connection.request("GET", "/healthz")
        self.assertEqual(connection.getresponse().status, 200)


if __name__ == "__main__":
    unittest.main()
