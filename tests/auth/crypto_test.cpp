#include "auth/crypto.hpp"

#include <gtest/gtest.h>

#include <set>

namespace parley::auth::crypto {
namespace {

class crypto_test : public ::testing::Test {
protected:
  void SetUp() override { initialize(); }
};

TEST_F(crypto_test, codes_are_six_digits_with_leading_zeros_kept) {
  std::set<std::string> seen;
  for (int index = 0; index < 2000; ++index) {
    const auto code = random_code(6);
    ASSERT_EQ(code.size(), 6U);
    ASSERT_EQ(code.find_first_not_of("0123456789"), std::string::npos) << code;
    seen.insert(code);
  }
  EXPECT_GT(seen.size(), 1900U); // collisions among 2000 draws of 10^6 are rare
}

TEST_F(crypto_test, tokens_are_43_url_safe_characters_and_distinct) {
  const auto first = random_token();
  EXPECT_EQ(first.size(), 43U);
  EXPECT_EQ(first.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(first, random_token());
}

TEST_F(crypto_test, keyed_hashes_depend_on_key_purpose_and_value) {
  const auto key_one = random_key();
  const auto key_two = random_key();
  const auto base = keyed_hash(key_one, "code", "123456");
  EXPECT_EQ(base.size(), k_hash_bytes);
  EXPECT_TRUE(equal(base, keyed_hash(key_one, "code", "123456")));
  EXPECT_FALSE(equal(base, keyed_hash(key_two, "code", "123456")));
  EXPECT_FALSE(equal(base, keyed_hash(key_one, "token", "123456")));
  EXPECT_FALSE(equal(base, keyed_hash(key_one, "code", "123457")));
}

TEST_F(crypto_test, digests_of_different_sizes_are_not_equal) {
  const std::vector<unsigned char> one{1, 2, 3};
  const std::vector<unsigned char> two{1, 2};
  EXPECT_FALSE(equal(one, two));
}

} // namespace
} // namespace parley::auth::crypto
