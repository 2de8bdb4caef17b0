#include "auth/crypto.hpp"

#include <sodium.h>

#include <stdexcept>

namespace parley::auth::crypto {

void initialize() {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium could not be initialised");
  }
}

key random_key() {
  key result{};
  randombytes_buf(result.data(), result.size());
  return result;
}

std::string random_code(int digits) {
  std::uint32_t bound = 1;
  for (int index = 0; index < digits; ++index) {
    bound *= 10;
  }
  std::string result = std::to_string(randombytes_uniform(bound));
  return std::string(static_cast<std::size_t>(digits) - result.size(), '0') + result;
}

std::string random_token() {
  std::array<unsigned char, k_token_bytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string encoded(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                      '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes.data(), bytes.size());
  encoded.resize(encoded.find('\0'));
  return encoded;
}

digest keyed_hash(const key& secret, std::string_view purpose, std::string_view value) {
  digest result(k_hash_bytes);
  crypto_generichash_state state;
  crypto_generichash_init(&state, secret.data(), secret.size(), result.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(purpose.data()),
                            purpose.size());
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()),
                            value.size());
  crypto_generichash_final(&state, result.data(), result.size());
  return result;
}

bool equal(std::span<const unsigned char> left, std::span<const unsigned char> right) {
  return left.size() == right.size() && sodium_memcmp(left.data(), right.data(), left.size()) == 0;
}

} // namespace parley::auth::crypto
