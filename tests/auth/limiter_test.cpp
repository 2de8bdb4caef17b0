#include "auth/limiter.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

using std::chrono::milliseconds;

TEST(sliding_window_limiter, allows_up_to_the_limit_within_the_window) {
  sliding_window_limiter limiter(3, milliseconds(1000));
  for (int index = 0; index < 3; ++index) {
    EXPECT_FALSE(limiter.wait_time("key", 100 + index));
    limiter.record("key", 100 + index);
  }
  EXPECT_TRUE(limiter.wait_time("key", 103));
}

TEST(sliding_window_limiter, the_wait_is_until_the_oldest_event_leaves_the_window) {
  sliding_window_limiter limiter(2, milliseconds(1000));
  limiter.record("key", 100);
  limiter.record("key", 400);
  EXPECT_EQ(limiter.wait_time("key", 500), milliseconds(600));
  EXPECT_FALSE(limiter.wait_time("key", 1100));
}

TEST(sliding_window_limiter, keys_are_independent) {
  sliding_window_limiter limiter(1, milliseconds(1000));
  limiter.record("a", 0);
  EXPECT_TRUE(limiter.wait_time("a", 1));
  EXPECT_FALSE(limiter.wait_time("b", 1));
}

TEST(sliding_window_limiter, stale_keys_are_swept_so_memory_stays_bounded) {
  sliding_window_limiter limiter(1, milliseconds(10));
  for (int index = 0; index < 5000; ++index) {
    limiter.record("key-" + std::to_string(index), index * 100);
  }
  EXPECT_LT(limiter.key_count(), 2100U);
}

} // namespace
} // namespace parley::auth

namespace parley::auth {
namespace {

TEST(sliding_window_limiter, a_forgotten_event_no_longer_counts) {
  sliding_window_limiter limiter(1, std::chrono::milliseconds(1000));
  limiter.record("key", 100);
  EXPECT_TRUE(limiter.wait_time("key", 150));
  limiter.forget("key", 100);
  EXPECT_FALSE(limiter.wait_time("key", 150));
  limiter.forget("other", 100); // unknown keys are ignored
}

} // namespace
} // namespace parley::auth
