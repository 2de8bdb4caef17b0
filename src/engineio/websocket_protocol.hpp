#pragma once
// What both ends of a WebSocket (RFC 6455) compute: the handshake's Sec-WebSocket-Accept and a
// frame's masking. The server's `websocket` and the load generator's client share them.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace parley::engineio {

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)), RFC 6455
/// 4.2.2. Empty if the digest could not be computed.
[[nodiscard]] std::string websocket_accept(std::string_view key);

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
