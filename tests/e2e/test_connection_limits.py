"""Connection bounds: connections per client address, the time allowed for a request's headers."""

import socket
import unittest

from parley_harness import TIMEOUT, ServerTestCase


def read_until_closed(connection):
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class ConnectionsPerAddressTest(ServerTestCase):
    flags = ("--max-connections-per-address", "2", "--log-level", "debug")

    def test_connections_over_the_limit_are_closed_and_the_others_keep_working(self):
        first = socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT)
        second = socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT)
        self.addCleanup(first.close)
        self.addCleanup(second.close)
        # Both held connections are counted once they answer a request.
        for connection in (first, second):
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(connection.recv(65536).startswith(b"HTTP/1.1 200 "))
        third = socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT)
        self.addCleanup(third.close)
        try:
            third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_until_closed(third)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
        self.assertEqual(answer, b"")
        mark = self.server.log_size()
        first.close()
        second.close()
        # Once the server has seen both go, the address may connect again.
        self.server.wait_for_log(r"http\.connection_closed address=127\.0\.0\.1 remaining=0", start=mark)
        self.assertTrue(self.server.healthy())


class HeaderTimeoutTest(ServerTestCase):
    flags = ("--header-timeout", "1")

    def test_a_client_that_never_finishes_its_headers_is_disconnected(self):
        connection = socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT)
        self.addCleanup(connection.close)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # no blank line: never done
        self.assertEqual(read_until_closed(connection), b"")
        self.assertTrue(self.server.healthy())


if __name__ == "__main__":
    unittest.main()
