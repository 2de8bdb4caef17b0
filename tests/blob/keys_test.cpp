// Keys and hashing: what a valid key is, SHA-256 against the standard's test vectors, a file
// hashed in pieces, and open_blob_store's choice of backend.

#include "blob/blob_store.hpp"

#include "blob/backends.hpp"
#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace parley::blob {
namespace {

std::string hash_of(std::string_view text) {
  sha256 hash;
  hash.update(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  return hash.hex_digest();
}

TEST(blob_keys, a_key_is_64_lower_case_hex_digits) {
  EXPECT_TRUE(valid_key(std::string(64, '0')));
  EXPECT_TRUE(valid_key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(valid_key(""));
  EXPECT_FALSE(valid_key(std::string(63, 'a')));
  EXPECT_FALSE(valid_key(std::string(65, 'a')));
  EXPECT_FALSE(valid_key(std::string(64, 'A')));
  EXPECT_FALSE(valid_key(std::string(63, 'a') + "g"));
  EXPECT_FALSE(valid_key("../" + std::string(61, 'a')));
  EXPECT_FALSE(valid_key(std::string(63, 'a') + '\0'));
  EXPECT_NO_THROW(check_key(std::string(64, 'f')));
  EXPECT_THROW(check_key("../x"), std::invalid_argument);
}

TEST(blob_keys, sha256_matches_the_standard_vectors) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // In pieces, the same.
  sha256 pieces;
  for (const std::string_view piece : {"a", "", "bc"}) {
    pieces.update(std::span(reinterpret_cast<const unsigned char*>(piece.data()), piece.size()));
  }
  EXPECT_EQ(pieces.hex_digest(), hash_of("abc"));
}

TEST(blob_keys, a_file_is_hashed_in_pieces) {
  parley::testing::temporary_directory directory;
  const auto path = directory.path() / "file";
  const auto bytes = conformance::pattern(1'000'003, 1); // several read chunks, and a rest
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  sha256 whole;
  whole.update(bytes);
  EXPECT_EQ(sha256_file(path), whole.hex_digest());
  // A million 'a's: the standard's long vector.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(1'000'000, 'a');
  }
  EXPECT_EQ(sha256_file(path), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW((void)sha256_file(directory.path() / "missing"), blob_error);
}

TEST(blob_keys, open_blob_store_takes_a_directory_or_a_postgres_url) {
  parley::testing::temporary_directory directory;
  const auto store = open_blob_store(directory.file("blobs"));
  EXPECT_TRUE(store->staging_directory().has_value()) << "a directory store";
  conformance::postgres_schema schema;
  const auto in_postgres = open_blob_store(schema.url());
  EXPECT_FALSE(in_postgres->staging_directory().has_value()) << "a PostgreSQL store";
}

} // namespace
} // namespace parley::blob
