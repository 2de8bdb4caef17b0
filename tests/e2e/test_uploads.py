"""Uploads and media (API.md "Attachments and profile pictures"): the type comes from the
bytes, images are re-encoded without metadata and get a thumbnail, media answers carry their
protective headers, ranges and validators work, and bad input is refused without harm:
a file over the limit before its body is read, a decompression bomb without the server's
memory growing, names that try to be paths.
"""

import io
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest
import urllib.parse

from PIL import Image

from chat_support import ChatCase
from parley_harness import TIMEOUT

MEDIA_POLICY = "default-src 'none'; img-src 'self'; sandbox"


def png(width, height, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(directory):
    """A JPEG with EXIF GPS tags and a camera model, written by exiftool."""
    path = os.path.join(directory, "gps.jpg")
    Image.new("RGB", (640, 480), (10, 120, 200)).save(path, "JPEG")
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=48.8584",
                    "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E",
                    "-Model=SecretCam", path], check=True)
    with open(path, "rb") as handle:
        data = handle.read()
    assert b"SecretCam" in data  # the test's own premise: the metadata is there
    return data


def bomb_png():
    """A 30,000 x 30,000 PNG whose compressed pixels are tiny (all zero)."""
    import struct
    import zlib

    width = height = 30_000
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def peak_memory_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1))


class UploadCase(ChatCase):
    flags = ("--message-rate", "0", "--upload-rate", "0")

    def upload(self, user, data, name="file.bin", content_type="application/octet-stream",
               status=201):
        response = self.server.request(
            "POST", "/api/v1/uploads", body=data, token=user.token,
            headers={"Content-Type": content_type, "X-Filename": urllib.parse.quote(name)})
        if status is not None:
            self.assertEqual(response.status, status, response)
        return response.json()["upload"] if status == 201 else response

    def media(self, user, path, headers=None):
        return self.server.request("GET", path, token=user.token, headers=headers)

    def assertMediaHeaders(self, response):
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response.headers["Content-Security-Policy"], MEDIA_POLICY)


class UploadTest(UploadCase):
    def test_an_image_is_re_encoded_with_a_thumbnail_and_served_inline(self):
        alice = self.user("Alice")
        upload = self.upload(alice, png(1600, 1200), "photo.png", "image/png")
        self.assertEqual(upload["kind"], "image")
        self.assertEqual(upload["mime"], "image/png")
        self.assertEqual((upload["width"], upload["height"]), (1600, 1200))
        self.assertEqual(upload["name"], "photo.png")
        original = self.media(alice, f"/media/{upload['id']}")
        self.assertEqual(original.status, 200)
        self.assertMediaHeaders(original)
        self.assertEqual(original.headers["Content-Type"], "image/png")
        self.assertTrue(original.headers["Content-Disposition"].startswith("inline;"))
        self.assertEqual(len(original.body), upload["size"])
        self.assertEqual(Image.open(io.BytesIO(original.body)).size, (1600, 1200))
        thumbnail = self.media(alice, f"/media/{upload['id']}/thumbnail")
        self.assertEqual(thumbnail.status, 200)
        self.assertMediaHeaders(thumbnail)
        self.assertEqual(Image.open(io.BytesIO(thumbnail.body)).size, (800, 600))

    def test_html_declared_as_a_png_is_a_file_served_as_a_download(self):
        alice = self.user("Alice")
        for data, name in ((b"<!doctype html><script>alert(1)</script>", "page.png"),
                           (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                            "drawing.png")):
            upload = self.upload(alice, data, name, "image/png")
            self.assertEqual(upload["kind"], "file", upload)
            self.assertNotEqual(upload["mime"], "image/png", upload)  # named from the bytes
            self.assertNotIn("width", upload)
            served = self.media(alice, f"/media/{upload['id']}")
            self.assertEqual(served.status, 200)
            self.assertMediaHeaders(served)
            self.assertEqual(served.headers["Content-Type"], "application/octet-stream")
            self.assertTrue(served.headers["Content-Disposition"].startswith("attachment;"))
            self.assertEqual(served.body, data)
            self.assertEqual(self.media(alice, f"/media/{upload['id']}/thumbnail").status, 404)

    def test_gps_and_every_other_exif_tag_are_gone_from_the_image_and_its_thumbnail(self):
        alice = self.user("Alice")
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        upload = self.upload(alice, jpeg_with_gps(directory), "gps.jpg", "image/jpeg")
        self.assertEqual(upload["mime"], "image/jpeg")
        for path in (f"/media/{upload['id']}", f"/media/{upload['id']}/thumbnail"):
            served = self.media(alice, path)
            self.assertEqual(served.status, 200, path)
            image = Image.open(io.BytesIO(served.body))
            self.assertEqual(dict(image.getexif()), {}, path)
            self.assertNotIn("exif", image.info, path)
            self.assertNotIn(b"Exif\x00\x00", served.body, path)
            self.assertNotIn(b"SecretCam", served.body, path)

    def test_names_never_become_paths_and_non_ascii_names_round_trip(self):
        alice = self.user("Alice")
        named = self.upload(alice, b"plain text", "Résumé 日本語 🎉.txt")
        self.assertEqual(named["name"], "Résumé 日本語 🎉.txt")
        served = self.media(alice, f"/media/{named['id']}")
        self.assertIn("filename*=UTF-8''R%C3%A9sum%C3%A9%20", served.headers["Content-Disposition"])
        for hostile in ("../../etc/passwd", "a\x00b.txt", "bell\x07\x1b[31m.txt", "x" * 4096):
            upload = self.upload(alice, b"data", hostile)
            self.assertNotIn("/", upload["name"])
            self.assertNotIn("\x00", upload["name"])
            self.assertFalse(any(ord(c) < 32 for c in upload["name"]), upload["name"])
            self.assertLessEqual(len(upload["name"].encode()), 255)
            self.assertNotIn(upload["name"], ("", ".", ".."))

    def test_ranges_validators_and_head(self):
        alice = self.user("Alice")
        data = bytes(range(256)) * 40
        upload = self.upload(alice, data, "bytes.bin")
        path = f"/media/{upload['id']}"
        whole = self.media(alice, path)
        self.assertEqual(whole.headers["Accept-Ranges"], "bytes")
        etag = whole.headers["ETag"]
        part = self.media(alice, path, {"Range": "bytes=10-19"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.body, data[10:20])
        self.assertEqual(part.headers["Content-Range"], f"bytes 10-19/{len(data)}")
        tail = self.media(alice, path, {"Range": "bytes=-5"})
        self.assertEqual(tail.body, data[-5:])
        beyond = self.media(alice, path, {"Range": f"bytes={len(data)}-"})
        self.assertEqual(beyond.status, 416)
        self.assertEqual(beyond.headers["Content-Range"], f"bytes */{len(data)}")
        self.assertEqual(self.media(alice, path, {"If-None-Match": etag}).status, 304)
        stale = self.media(alice, path, {"Range": "bytes=0-0", "If-Range": '"other"'})
        self.assertEqual((stale.status, stale.body), (200, data))
        head = self.server.request("HEAD", path, token=alice.token)
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["Content-Length"], str(len(data)))
        self.assertEqual(head.body, b"")

    def test_the_limits_are_in_the_config(self):
        alice = self.user("Alice")
        config = self.api("GET", "/config", user=alice).json()
        self.assertEqual(config["max_upload_bytes"], 100 * 1024 * 1024)
        self.assertEqual(config["max_attachments"], 10)
        self.assertGreater(config["upload_daily_bytes"], 0)
        self.assertGreater(config["upload_stored_bytes"], 0)

    def test_others_get_404_and_strangers_401(self):
        alice, bob = self.users("Alice", "Bob")
        upload = self.upload(alice, b"mine")
        self.assertEqual(self.media(bob, f"/media/{upload['id']}").status, 404)
        self.assertEqual(self.media(bob, "/media/999999").status, 404)
        self.assertEqual(self.media(bob, "/media/not-a-number").status, 404)
        self.assertEqual(self.server.request("GET", f"/media/{upload['id']}").status, 401)
        self.assertEqual(self.server.request("POST", "/api/v1/uploads", body=b"x").status, 401)

    def test_over_the_limit_is_refused_before_the_body_is_sent(self):
        alice = self.user("Alice")
        request = (f"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice.token}\r\n"
                   f"Content-Length: {100 * 1024 * 1024 + 1}\r\nExpect: 100-continue\r\n\r\n")
        with socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT) as conn:
            conn.sendall(request.encode())
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = conn.recv(65536)
                self.assertTrue(chunk, answer)
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer)
        self.assertIn(b'"too_large"', answer + conn_rest(answer))
        self.assertNotIn(b"100 Continue", answer)

    def test_a_decompression_bomb_and_a_truncated_image_are_refused_without_memory_growth(self):
        alice = self.user("Alice")
        before = peak_memory_kib(self.server.process.pid)
        bomb = self.upload(alice, bomb_png(), "bomb.png", "image/png", status=422)
        self.assertEqual(bomb.json()["error"]["code"], "bad_image")
        whole = png(400, 300)
        truncated = self.upload(alice, whole[: len(whole) // 2], "cut.png", status=422)
        self.assertEqual(truncated.json()["error"]["code"], "bad_image")
        grown_mib = (peak_memory_kib(self.server.process.pid) - before) / 1024
        self.assertLess(grown_mib, 256)
        self.assertTrue(self.server.healthy())


class AvatarTest(UploadCase):
    def test_a_profile_picture_is_set_seen_by_others_replaced_and_removed(self):
        alice, bob = self.users("Alice", "Bob")
        put = self.server.request("PUT", "/api/v1/me/avatar", body=png(1000, 1000, (0, 200, 0)),
                                  token=alice.token, headers={"Content-Type": "image/png"})
        self.assertEqual(put.status, 200, put)
        url = put.json()["user"]["avatar_url"]
        self.assertRegex(url, r"^/media/\d+/thumbnail$")
        self.assertEqual(self.api("GET", "/me", user=alice).json()["user"]["avatar_url"], url)
        seen = self.media(bob, url)
        self.assertEqual(seen.status, 200)
        self.assertEqual(Image.open(io.BytesIO(seen.body)).size, (800, 800))
        replaced = self.server.request("PUT", "/api/v1/me/avatar", body=png(64, 64),
                                       token=alice.token)
        new_url = replaced.json()["user"]["avatar_url"]
        self.assertNotEqual(new_url, url)
        self.assertEqual(self.media(bob, url).status, 404, "the old picture is gone")
        self.assertEqual(self.media(alice, url).status, 404, "for its owner too")
        gone = self.server.request("DELETE", "/api/v1/me/avatar", token=alice.token)
        self.assertEqual(gone.status, 204)
        self.assertIsNone(self.api("GET", "/me", user=alice).json()["user"]["avatar_url"])
        self.assertEqual(self.media(bob, new_url).status, 404)

    def test_a_profile_picture_must_be_an_image(self):
        alice = self.user("Alice")
        for body in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"not an image", png(40, 40)[:60]):
            answer = self.server.request("PUT", "/api/v1/me/avatar", body=body, token=alice.token,
                                         headers={"Content-Type": "image/png"})
            self.assertEqual(answer.status, 422, answer)
            self.assertEqual(answer.json()["error"]["code"], "bad_image")
        self.assertIsNone(self.api("GET", "/me", user=alice).json()["user"]["avatar_url"])


class QuotaTest(UploadCase):
    flags = ("--message-rate", "0", "--upload-rate", "0", "--max-upload-bytes", "4096",
             "--upload-daily-bytes", "10000", "--upload-stored-bytes", "6000")

    def test_size_day_and_kept_bytes_are_limited(self):
        alice = self.user("Alice")
        too_large = self.upload(alice, b"x" * 4097, status=413)
        self.assertEqual(too_large.json()["error"]["code"], "too_large")
        first = self.upload(alice, b"a" * 4000)
        over_kept = self.upload(alice, b"b" * 3000, status=413)
        self.assertEqual(over_kept.json()["error"]["code"], "quota_exceeded")
        self.upload(alice, b"c" * 1000)
        self.assertEqual(first["size"], 4000)
        # Chunked (no Content-Length): the limit is checked while reading.
        request = (f"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice.token}\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n").encode()
        request += b"".join(b"400\r\n" + b"z" * 1024 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
        with socket.create_connection((self.server.host, self.server.port), timeout=TIMEOUT) as conn:
            conn.sendall(request)
            answer = conn.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer)


class RateTest(UploadCase):
    flags = ("--upload-rate", "1")

    def test_uploads_are_rate_limited_per_user(self):
        alice = self.user("Alice")
        answers = [self.upload(alice, b"r%d" % n, status=None) for n in range(12)]
        statuses = [answer.status for answer in answers]
        self.assertIn(429, statuses)
        limited = answers[statuses.index(429)]
        self.assertEqual(limited.json()["error"]["code"], "rate_limited")
        self.assertTrue(limited.headers["Retry-After"].isdigit())


def conn_rest(head):
    """The body part of an answer read up to its headers (for a code in the first bytes)."""
    return head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""


if __name__ == "__main__":
    unittest.main()
