#pragma once
// A WebSocket frame's masking (RFC 6455 5.3): XORs a payload with its 4-byte key, eight bytes
// at a time. The same call masks and unmasks.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace parley::engineio {

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
