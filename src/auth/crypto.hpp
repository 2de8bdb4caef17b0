#pragma once
// Randomness and keyed hashing for codes and session tokens, on libsodium.
// Thread-safe once initialize() has run (it is idempotent).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::auth::crypto {

inline constexpr std::size_t k_key_bytes = 32;
inline constexpr std::size_t k_token_bytes = 32;
inline constexpr std::size_t k_hash_bytes = 32;

using key = std::array<unsigned char, k_key_bytes>;
using digest = std::vector<unsigned char>;

/// Initialises libsodium; throws std::runtime_error when it cannot.
void initialize();

/// A fresh random key for keyed hashing.
[[nodiscard]] key random_key();

/// A uniformly random code of `digits` decimal digits, leading zeros kept ("004211").
[[nodiscard]] std::string random_code(int digits = 6);

/// A fresh session token: 32 random bytes, base64url without padding (43 characters).
[[nodiscard]] std::string random_token();

/// Keyed BLAKE2b-256 of `purpose` + NUL + `value`: the purpose keeps a code hash from ever
/// matching a token hash.
[[nodiscard]] digest keyed_hash(const key& secret, std::string_view purpose, std::string_view value);

/// Constant-time equality of two digests (false when the sizes differ).
[[nodiscard]] bool equal(std::span<const unsigned char> left, std::span<const unsigned char> right);

} // namespace parley::auth::crypto
