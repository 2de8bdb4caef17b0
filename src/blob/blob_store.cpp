#include "blob/blob_store.hpp"

#include "common/settings.hpp"

#include "blob/directory_blob_store.hpp"
#include "blob/file.hpp"
#include "blob/postgres_blob_store.hpp"

#include <openssl/evp.h>

#include <fcntl.h>

#include <fmt/format.h>

#include <array>
#include <new>
#include <vector>

namespace parley::blob {

bool valid_key(std::string_view key) {
  if (key.size() != 64) {
    return false;
  }
  for (const char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

void check_key(std::string_view key) {
  if (!valid_key(key)) {
    // Not echoed: it may be anything, of any length.
    throw std::invalid_argument(
        fmt::format("not a blob key (64 lower-case hex digits): {} characters", key.size()));
  }
}

// -- sha256 ---------------------------------------------------------------------------------

sha256::sha256() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr) {
    throw std::bad_alloc();
  }
  if (EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_);
    throw blob_error(blob_error::kind::failed, "sha256: EVP_DigestInit_ex failed");
  }
}

sha256::~sha256() {
  EVP_MD_CTX_free(context_);
}

void sha256::update(std::span<const unsigned char> bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(context_, bytes.data(), bytes.size()) != 1) {
    throw blob_error(blob_error::kind::failed, "sha256: EVP_DigestUpdate failed");
  }
}

std::string sha256::hex_digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_, digest.data(), &length) != 1 || length != 32) {
    throw blob_error(blob_error::kind::failed, "sha256: EVP_DigestFinal_ex failed");
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned int at = 0; at < length; ++at) {
    hex += digits[digest[at] >> 4];
    hex += digits[digest[at] & 0x0f];
  }
  return hex;
}

std::string sha256_file(const std::filesystem::path& file) {
  const auto source = detail::open_file(file, O_RDONLY, "reading");
  return detail::hash_of(source.get(), file);
}

// -- open_blob_store ------------------------------------------------------------------------

std::unique_ptr<blob_store> open_blob_store(const std::string& where) {
  if (where.empty()) {
    throw blob_error(blob_error::kind::failed, "blob store: no directory or URL given");
  }
  if (is_postgres_url(where)) {
    return std::make_unique<postgres_blob_store>(postgres_blob_options{.url = where});
  }
  return std::make_unique<directory_blob_store>(directory_blob_options{.root = where});
}

} // namespace parley::blob
