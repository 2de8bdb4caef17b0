#include "engineio/websocket_protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::engineio {
namespace {

// A frame as a peer would send it: FIN and opcode, the mask bit and the length in its
// shortest form unless `length_bytes` (2 or 8) asks for a longer one, the masking key when
// `key` is given, the payload (masked with it).
std::string frame(std::uint8_t first, std::string payload, const char* key = nullptr,
                  std::size_t length_bytes = 0) {
  std::string bytes(1, static_cast<char>(first));
  const char mask_bit = key != nullptr ? static_cast<char>(0x80) : 0;
  if (length_bytes == 0) {
    length_bytes = payload.size() < 126 ? 0 : payload.size() <= 0xFFFF ? 2 : 8;
  }
  if (length_bytes == 0) {
    bytes += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
  } else {
    bytes += static_cast<char>(mask_bit | (length_bytes == 2 ? 126 : 127));
    for (std::size_t index = length_bytes; index-- > 0;) {
      bytes += static_cast<char>((payload.size() >> (8 * index)) & 0xFF);
    }
  }
  if (key != nullptr) {
    bytes.append(key, 4);
    mask_in_place(payload.data(), payload.size(), reinterpret_cast<const std::uint8_t*>(key));
  }
  return bytes + payload;
}

constexpr std::uint64_t k_room = 1000;

frame_status read(std::string_view bytes, bool from_client, bool in_message = false,
                  std::uint64_t room = k_room) {
  frame_head head;
  return read_frame_head(bytes, from_client, in_message, room, head);
}

TEST(WebSocketProtocolTest, AcceptValueIsTheRfcsExample) {
  // RFC 6455 1.3.
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketProtocolTest, MaskingMatchesTheRfcByteByByteAtEveryLengthAndUndoesItself) {
  const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (std::size_t size = 0; size <= 40; ++size) {
    std::string original;
    for (std::size_t index = 0; index < size; ++index) {
      original += static_cast<char>('a' + index % 26);
    }
    std::string masked = original;
    mask_in_place(masked.data(), masked.size(), key);
    for (std::size_t index = 0; index < size; ++index) {
      ASSERT_EQ(static_cast<std::uint8_t>(masked[index]),
                static_cast<std::uint8_t>(original[index]) ^ key[index % 4])
          << "size " << size << ", byte " << index;
    }
    mask_in_place(masked.data(), masked.size(), key);
    EXPECT_EQ(masked, original);
  }
}

TEST(WebSocketProtocolTest, ReadsAMaskedClientFrameInEachLengthForm) {
  for (const std::size_t length_bytes : {0U, 2U, 8U}) {
    const std::string bytes = frame(0x81, "Hello", "\x37\xfa\x21\x3d", length_bytes);
    frame_head head;
    ASSERT_EQ(read_frame_head(bytes, true, false, k_room, head), frame_status::whole)
        << length_bytes;
    EXPECT_TRUE(head.fin);
    EXPECT_EQ(head.opcode, opcode::text);
    EXPECT_EQ(head.length, 5U);
    EXPECT_EQ(head.size, 2 + length_bytes + 4);
    ASSERT_EQ(head.mask, reinterpret_cast<const std::uint8_t*>(bytes.data()) + head.size - 4);
    std::string payload = bytes.substr(head.size);
    mask_in_place(payload.data(), payload.size(), head.mask);
    EXPECT_EQ(payload, "Hello");
  }
}

TEST(WebSocketProtocolTest, ReadsAnUnmaskedServerFrameOfEachSizeClass) {
  for (const std::size_t size : {0U, 125U, 126U, 65535U, 65536U}) {
    const std::string bytes = frame(0x82, std::string(size, 'x'));
    frame_head head;
    ASSERT_EQ(read_frame_head(bytes, false, false, 1 << 20, head), frame_status::whole) << size;
    EXPECT_EQ(head.opcode, opcode::binary);
    EXPECT_EQ(head.length, size);
    EXPECT_EQ(head.size, bytes.size() - size);
    EXPECT_EQ(head.mask, nullptr);
  }
}

TEST(WebSocketProtocolTest, AWrittenHeaderReadsBackInEachLengthForm) {
  for (const bool masked : {false, true}) {
    for (const std::size_t size : {0U, 125U, 126U, 65535U, 65536U, 1U << 20}) {
      const frame_header written(opcode::binary, size, masked);
      EXPECT_EQ(written.length, (size < 126 ? 2U : size <= 0xFFFF ? 4U : 10U)) << size;
      // The header, a key when masked, and the payload: read back as it was written.
      std::string bytes(written.bytes());
      bytes += masked ? std::string("\x01\x02\x03\x04") : std::string();
      bytes += std::string(size, 'z');
      frame_head head;
      ASSERT_EQ(read_frame_head(bytes, masked, false, size, head), frame_status::whole)
          << size << (masked ? " masked" : "");
      EXPECT_TRUE(head.fin);
      EXPECT_EQ(head.opcode, opcode::binary);
      EXPECT_EQ(head.length, size);
      EXPECT_EQ(head.size, written.length + (masked ? 4 : 0));
      EXPECT_EQ(head.mask != nullptr, masked);
    }
  }
}

TEST(WebSocketProtocolTest, EveryTruncationOfAFrameNeedsMore) {
  const std::string masked = frame(0x81, std::string(300, 'y'), "abcd");
  const std::string plain = frame(0x81, std::string(300, 'y'));
  for (std::size_t size = 0; size < masked.size(); ++size) {
    EXPECT_EQ(read(std::string_view(masked).substr(0, size), true), frame_status::need_more)
        << size;
  }
  for (std::size_t size = 0; size < plain.size(); ++size) {
    EXPECT_EQ(read(std::string_view(plain).substr(0, size), false), frame_status::need_more)
        << size;
  }
  EXPECT_EQ(read(masked, true), frame_status::whole);
  EXPECT_EQ(read(plain, false), frame_status::whole);
  // What follows the frame is the next one's, not this one's business.
  EXPECT_EQ(read(masked + "\x81", true), frame_status::whole);
}

TEST(WebSocketProtocolTest, FragmentsAndControlFramesBetweenThem) {
  // The first fragment outside a message, continuations inside one; a ping or a pong or a
  // close may come between fragments (RFC 6455 5.4).
  EXPECT_EQ(read(frame(0x01, "Hel"), false, false), frame_status::whole);
  EXPECT_EQ(read(frame(0x89, "p"), false, true), frame_status::whole);
  EXPECT_EQ(read(frame(0x8A, ""), false, true), frame_status::whole);
  EXPECT_EQ(read(frame(0x88, "\x03\xe8"), false, true), frame_status::whole);
  EXPECT_EQ(read(frame(0x00, "l"), false, true), frame_status::whole);
  EXPECT_EQ(read(frame(0x80, "o"), false, true), frame_status::whole);
  EXPECT_EQ(read(frame(0x80, "o"), false, false), frame_status::continuation_of_nothing);
  EXPECT_EQ(read(frame(0x81, "new"), false, true), frame_status::data_inside_message);
  EXPECT_EQ(read(frame(0x02, "new"), false, true), frame_status::data_inside_message);
}

TEST(WebSocketProtocolTest, BrokenRulesAreNamedAsSoonAsTheirBytesHaveCome) {
  // Two bytes show the reserved bits and the mask bit, before any length or payload.
  EXPECT_EQ(read("\xC1\x85", true), frame_status::bad_reserved_bits);  // RSV1
  EXPECT_EQ(read("\xA1\x85", true), frame_status::bad_reserved_bits);  // RSV2
  EXPECT_EQ(read("\x91\x85", true), frame_status::bad_reserved_bits);  // RSV3
  EXPECT_EQ(read("\x81\x05", true), frame_status::bad_masking);        // a client's, unmasked
  EXPECT_EQ(read("\x81\x85", false), frame_status::bad_masking);       // a server's, masked
  // The header shows the opcode, the control rules and the size, before the payload.
  for (const char reserved : {'\x03', '\x07', '\x0B', '\x0F'}) {
    EXPECT_EQ(read(std::string{static_cast<char>(0x80 | reserved), '\0'}, false),
              frame_status::bad_opcode)
        << static_cast<int>(reserved);
  }
  EXPECT_EQ(read(std::string("\x09\x00", 2), false), frame_status::control_fragmented);
  EXPECT_EQ(read(std::string("\x89\x7E\x00\x7E", 4), false), frame_status::control_too_big);
  EXPECT_EQ(read(frame(0x89, std::string(125, 'p')), false), frame_status::whole);
  EXPECT_EQ(read(std::string("\x81\x7E\x03\xE9", 4), false), frame_status::too_big); // 1001
  EXPECT_EQ(read(std::string("\x81\x7E\x03\xE8", 4), false), frame_status::need_more); // 1000
  EXPECT_EQ(read(std::string("\x82\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 10), false),
            frame_status::too_big);
  // The room is what is left of the message: a continuation is measured against it.
  EXPECT_EQ(read(frame(0x80, "abcd"), false, true, 3), frame_status::too_big);
  EXPECT_EQ(read(frame(0x80, "abc"), false, true, 3), frame_status::whole);
  // A control frame does not count against a message's room.
  EXPECT_EQ(read(frame(0x89, "ping"), false, true, 0), frame_status::whole);
}

} // namespace
} // namespace parley::engineio
