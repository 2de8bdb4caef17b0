#pragma once
// What both ends of a WebSocket (RFC 6455) compute: the handshake's Sec-WebSocket-Accept, a
// received frame's header and the rules it must keep, and a frame's masking. The server's
// `websocket` and the load generator's client share them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace parley::engineio {

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)), RFC 6455
/// 4.2.2. Empty if the digest could not be computed.
[[nodiscard]] std::string websocket_accept(std::string_view key);

/// Opcodes (RFC 6455 5.2).
namespace opcode {
inline constexpr std::uint8_t continuation = 0x0;
inline constexpr std::uint8_t text = 0x1;
inline constexpr std::uint8_t binary = 0x2;
inline constexpr std::uint8_t close = 0x8;
inline constexpr std::uint8_t ping = 0x9;
inline constexpr std::uint8_t pong = 0xA;
} // namespace opcode

/// A frame's header as its sender writes it: FIN and `opcode`, then the payload's `size` in
/// its shortest form, with the mask bit when `masked` (the 4-byte masking key, the sender's,
/// goes after it).
struct frame_header {
  frame_header(std::uint8_t opcode, std::size_t size, bool masked = false);
  [[nodiscard]] std::string_view bytes() const {
    return {reinterpret_cast<const char*>(data.data()), length};
  }
  std::array<std::uint8_t, 10> data{};
  std::size_t length = 0;
};

/// A received frame's header.
struct frame_head {
  bool fin = false;
  std::uint8_t opcode = 0;
  std::uint64_t length = 0;            ///< the payload's, in bytes
  std::size_t size = 0;                ///< the header's, in bytes (the masking key's included)
  const std::uint8_t* mask = nullptr;  ///< the masking key within the bytes read, or null
};

/// What `read_frame_head` found at the front of the bytes received.
enum class frame_status {
  whole,                   ///< header and payload are all there
  need_more,               ///< no rule broken so far; the frame is not all there yet
  bad_reserved_bits,       ///< RSV1-3 set: no extension was agreed
  bad_masking,             ///< a client's frame unmasked, or a server's masked (5.1)
  bad_opcode,              ///< an opcode the RFC reserves
  control_fragmented,      ///< a control frame without FIN (5.5)
  control_too_big,         ///< a control frame's payload over 125 bytes (5.5)
  continuation_of_nothing, ///< a continuation frame outside a fragmented message (5.4)
  data_inside_message,     ///< a text or binary frame before the fragmented one ended (5.4)
  too_big,                 ///< a data frame's payload over the room left for its message
};

/// Reads the frame at the front of `bytes` into `head` and checks it: reserved bits clear,
/// masked exactly when it comes `from_client`, a known opcode, a control frame whole and at
/// most 125 bytes, a continuation only inside a fragmented message and a new message only
/// outside one (`in_message`), a data frame's payload at most `room` bytes. A broken rule is
/// reported as soon as the bytes that show it have come, before the payload; `head` is filled
/// once the header is there.
[[nodiscard]] frame_status read_frame_head(std::string_view bytes, bool from_client,
                                           bool in_message, std::uint64_t room, frame_head& head);

/// XORs `size` bytes at `data` with a frame's 4-byte masking `key`, eight bytes at a time
/// (RFC 6455 5.3). The same call masks and unmasks.
inline void mask_in_place(char* data, std::size_t size, const std::uint8_t* key) {
  std::uint32_t key32 = 0;
  std::memcpy(&key32, key, 4);
  const std::uint64_t key64 = (std::uint64_t{key32} << 32) | key32;
  std::size_t index = 0;
  for (; index + 8 <= size; index += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + index, 8);
    word ^= key64;
    std::memcpy(data + index, &word, 8);
  }
  for (; index < size; ++index) {
    data[index] = static_cast<char>(data[index] ^ key[index % 4]);
  }
}

} // namespace parley::engineio
