"""The WebSocket layer (RFC 6455) frame by frame, over a raw TCP socket: the opening handshake,
fragments joined with a ping between them, the close handshake, and every kind of malformed
frame answered with the close code the RFC asks for (1002, 1007, 1009) and the connection
ended. After each test the server still serves."""

import base64
import hashlib
import os
import socket
import struct
import unittest

from parley_harness import TIMEOUT, ServerTestCase

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def frame(opcode, payload=b"", fin=True, masked=True, rsv=0, length=None):
    """A client frame; ``length`` overrides the length the header announces."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if size < 126:
        head += bytes([mask_bit | size])
    elif size <= 0xFFFF:
        head += bytes([mask_bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))


class Connection:
    def __init__(self, server, version="13"):
        self.sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        self.key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                   f"Host: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
                   f"Sec-WebSocket-Version: {version}\r\n\r\n")
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")

    def accepted(self):
        expected = base64.b64encode(hashlib.sha1(self.key.encode() + GUID).digest()).decode()
        headers = dict(line.split(": ", 1) for line in self.head.split("\r\n")[1:])
        headers = {name.lower(): value for name, value in headers.items()}
        return (self.head.startswith("HTTP/1.1 101 ")
                and headers.get("sec-websocket-accept") == expected)

    def _exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def read_frame(self):
        """(fin, opcode, payload) of the server's next frame (never masked)."""
        first, second = self._exactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._exactly(8))[0]
        assert not second & 0x80, "a server frame is never masked"
        return bool(first & 0x80), first & 0x0F, self._exactly(size)

    def read_until(self, opcode):
        while True:
            fin, code, payload = self.read_frame()
            if code == opcode:
                return payload

    def closed_by_server(self):
        """True once the server has ended the TCP connection (recv gives EOF or a reset)."""
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


class WebSocketFramesTest(ServerTestCase):
    flags = ("--max-payload", "2048")

    def setUp(self):
        super().setUp()
        self.connection = Connection(self.server)
        self.addCleanup(self.connection.close)
        self.assertTrue(self.connection.accepted(), self.connection.head)
        fin, opcode, payload = self.connection.read_frame()  # the Engine.IO open packet
        self.assertEqual((fin, opcode), (True, TEXT))
        self.assertTrue(payload.startswith(b'0{"sid":'), payload)

    def tearDown(self):
        self.assertTrue(self.server.healthy(), "the server stopped serving")

    def assertClosedWith(self, code):
        payload = self.connection.read_until(CLOSE)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], code, payload)
        self.assertTrue(self.connection.closed_by_server())

    def test_fragments_are_joined_and_a_ping_between_them_is_answered(self):
        # "40" (Socket.IO CONNECT without credentials) in three fragments, a ping in between.
        self.connection.send(frame(TEXT, b"4", fin=False) + frame(PING, b"are you there")
                             + frame(CONTINUATION, b"", fin=False) + frame(CONTINUATION, b"0"))
        self.assertEqual(self.connection.read_until(PONG), b"are you there")
        answer = self.connection.read_until(TEXT)
        self.assertTrue(answer.startswith(b"44"), answer)  # CONNECT_ERROR: no credentials

    def test_many_messages_in_one_write_are_each_answered_in_order(self):
        # More messages than the server hands on in a row from one read: each gets its answer
        # (a CONNECT to a namespace that does not exist: CONNECT_ERROR, and nothing changes).
        count = 40
        self.connection.send(b"".join(frame(TEXT, b"40/nowhere,") for _ in range(count)))
        for _ in range(count):
            answer = self.connection.read_until(TEXT)
            self.assertTrue(answer.startswith(b"44/nowhere,"), answer)

    def test_a_message_sent_a_few_bytes_at_a_time_is_read_whole(self):
        # Whatever the kernel makes of it, the frames arrive split at any byte: the header,
        # the mask and the payload are taken in across reads.
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = frame(TEXT, b"40/now", fin=False) + frame(CONTINUATION, b"here,")
        data += frame(TEXT, b"40/nowhere,")
        for index in range(0, len(data), 3):
            self.connection.send(data[index:index + 3])
        for _ in range(2):
            answer = self.connection.read_until(TEXT)
            self.assertTrue(answer.startswith(b"44/nowhere,"), answer)

    def test_the_clients_close_is_answered_with_its_code(self):
        self.connection.send(frame(CLOSE, struct.pack("!H", 1000) + "bye ✓".encode()))
        self.assertClosedWith(1000)

    def test_a_message_of_exactly_the_limit_is_read(self):
        # A Socket.IO CONNECT of 2,048 bytes in all, whose auth has no token: refused by
        # Socket.IO (CONNECT_ERROR), after the WebSocket layer has read it whole.
        message = b'40{"a":"' + b"a" * 2038 + b'"}'
        self.assertEqual(len(message), 2048)
        self.connection.send(frame(TEXT, message))
        answer = self.connection.read_until(TEXT)
        self.assertTrue(answer.startswith(b"44"), answer)

    def test_a_message_over_the_limit_is_closed_with_1009_before_its_body(self):
        self.connection.send(frame(BINARY, b"", length=2049))
        self.assertClosedWith(1009)

    def test_fragments_over_the_limit_together_are_closed_with_1009(self):
        self.connection.send(frame(TEXT, b"4" * 1500, fin=False) + frame(CONTINUATION, b"0" * 600))
        self.assertClosedWith(1009)

    def test_a_huge_announced_length_is_closed_with_1009(self):
        self.connection.send(frame(BINARY, b"", length=2**62))
        self.assertClosedWith(1009)

    def test_malformed_frames_are_closed_with_1002(self):
        cases = {
            "unmasked": frame(TEXT, b"40", masked=False),
            "reserved bit": frame(TEXT, b"40", rsv=0x40),
            "unknown data opcode": frame(0x3, b"x"),
            "unknown control opcode": frame(0xB, b"x"),
            "fragmented control frame": frame(PING, b"x", fin=False),
            "control frame over 125 bytes": frame(PING, b"x" * 126),
            "continuation without a start": frame(CONTINUATION, b"x"),
            "new message inside a fragmented one": frame(TEXT, b"4", fin=False) + frame(TEXT, b"0"),
            "close with a one-byte payload": frame(CLOSE, b"\x03"),
            "close with a reserved code": frame(CLOSE, struct.pack("!H", 1005)),
            "close with a code out of range": frame(CLOSE, struct.pack("!H", 999)),
        }
        for name, data in cases.items():
            with self.subTest(name):
                connection = Connection(self.server)
                self.addCleanup(connection.close)
                self.assertTrue(connection.accepted())
                connection.read_frame()
                connection.send(data)
                payload = connection.read_until(CLOSE)
                self.assertEqual(struct.unpack("!H", payload[:2])[0], 1002, payload)
                self.assertTrue(connection.closed_by_server())

    def test_text_that_is_not_utf8_is_closed_with_1007(self):
        self.connection.send(frame(TEXT, b"4\xc3\x28"))  # a broken two-byte sequence
        self.assertClosedWith(1007)

    def test_a_close_reason_that_is_not_utf8_is_closed_with_1007(self):
        self.connection.send(frame(CLOSE, struct.pack("!H", 1000) + b"\xed\xa0\x80"))  # surrogate
        self.assertClosedWith(1007)

    def test_eof_in_the_middle_of_a_frame_ends_the_session(self):
        self.connection.send(frame(TEXT, b"40" * 100)[:50])
        self.connection.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(self.connection.closed_by_server())


class WebSocketHandshakeTest(ServerTestCase):
    def test_an_unsupported_version_gets_426_with_the_supported_one(self):
        connection = Connection(self.server, version="8")
        self.addCleanup(connection.close)
        self.assertTrue(connection.head.startswith("HTTP/1.1 426 "), connection.head)
        self.assertIn("sec-websocket-version: 13", connection.head.lower())
        self.assertTrue(self.server.healthy())


if __name__ == "__main__":
    unittest.main()
