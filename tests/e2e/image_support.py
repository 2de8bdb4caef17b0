"""Images for the end-to-end tests of uploads, attachments and profile pictures, made with the
standard library (no files in the tree)."""

import struct
import zlib


def png(width, height, colour=(200, 30, 30)):
    """A valid RGB PNG of one colour."""
    row = b"\x00" + bytes(colour * width)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))
