#include "chat/rate.hpp"

#include <gtest/gtest.h>

namespace parley::chat {
namespace {

using std::chrono::milliseconds;

TEST(token_buckets, a_burst_then_the_rate) {
  token_buckets limits(2.0, 3.0); // 2 per second, 3 at once
  const unix_ms start = 1'000'000;
  for (int index = 0; index < 3; ++index) {
    EXPECT_FALSE(limits.take(7, start)) << index;
  }
  const auto wait = limits.take(7, start);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, milliseconds(500));
  EXPECT_TRUE(limits.take(7, start + 499));
  EXPECT_FALSE(limits.take(7, start + 500));
  EXPECT_TRUE(limits.take(7, start + 500));
}

TEST(token_buckets, keys_are_independent) {
  token_buckets limits(1.0, 1.0);
  EXPECT_FALSE(limits.take(1, 0));
  EXPECT_TRUE(limits.take(1, 0));
  EXPECT_FALSE(limits.take(2, 0));
}

TEST(token_buckets, a_rate_of_zero_means_no_limit) {
  token_buckets limits(0.0, 1.0);
  for (int index = 0; index < 1000; ++index) {
    EXPECT_FALSE(limits.take(1, 0));
  }
}

TEST(token_buckets, refilled_buckets_are_swept) {
  token_buckets limits(1000.0, 1.0);
  for (std::int64_t key = 0; key < 5000; ++key) {
    (void)limits.take(key, key); // each one refills a millisecond later
  }
  EXPECT_LT(limits.key_count(), 2100U);
}

TEST(token_buckets, the_clock_going_back_does_not_add_tokens) {
  token_buckets limits(1.0, 1.0);
  EXPECT_FALSE(limits.take(1, 10'000));
  EXPECT_TRUE(limits.take(1, 5'000));
}

} // namespace
} // namespace parley::chat
