// What the planner may skip: users known to have no push subscription, until they subscribe
// (on any node), the bus may have lost that word, or the entry lapses.

#include "push/subscriber_cache.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::push {
namespace {

using namespace std::chrono_literals;
using known = subscriber_cache::known;

TEST(subscriber_cache, a_read_teaches_who_has_a_subscription_and_who_has_none) {
  subscriber_cache cache(60s, 100);
  const std::vector<store::id> users{1, 2, 3};
  EXPECT_FALSE(cache.none_subscribed(users, 1000));
  cache.learn(users, std::vector<store::id>{2}, cache.generation(), 1000);
  EXPECT_EQ(cache.lookup(1, 1000), known::none);
  EXPECT_EQ(cache.lookup(2, 1000), known::subscribed);
  EXPECT_EQ(cache.lookup(4, 1000), known::unknown);
  EXPECT_FALSE(cache.none_subscribed(users, 1000));
  EXPECT_TRUE(cache.none_subscribed(std::vector<store::id>{1, 3}, 1000));
  EXPECT_FALSE(cache.none_subscribed(std::vector<store::id>{1, 4}, 1000)); // 4: never read
  EXPECT_EQ(cache.subscribed_among(std::vector<store::id>{3, 2, 1}, 1000),
            std::vector<store::id>{2});
  EXPECT_EQ(cache.subscribed_among(std::vector<store::id>{1, 3}, 1000), std::vector<store::id>{});
  EXPECT_EQ(cache.subscribed_among(std::vector<store::id>{2, 4}, 1000), std::nullopt);
  EXPECT_EQ(cache.subscribed_among(users, 1000 + 60'000), std::nullopt); // lapsed
}

TEST(subscriber_cache, a_subscription_is_never_hidden_by_what_was_known_before_it) {
  subscriber_cache cache(60s, 100);
  const std::vector<store::id> users{1, 2};
  cache.learn(users, {}, cache.generation(), 1000);
  cache.forget(1); // 1 subscribed (here or on another node)
  EXPECT_EQ(cache.lookup(1, 1000), known::unknown);
  EXPECT_EQ(cache.lookup(2, 1000), known::none);

  // A read that began before the subscription teaches nothing.
  const auto before = cache.generation();
  cache.forget(2);
  cache.learn(users, {}, before, 1000);
  EXPECT_EQ(cache.lookup(1, 1000), known::unknown);
  EXPECT_EQ(cache.lookup(2, 1000), known::unknown);

  cache.learn(users, {}, cache.generation(), 1000);
  cache.forget_all(); // the bus may have lost a word
  EXPECT_EQ(cache.lookup(1, 1000), known::unknown);
  EXPECT_EQ(cache.lookup(2, 1000), known::unknown);
}

TEST(subscriber_cache, entries_lapse_and_a_full_cache_starts_again) {
  subscriber_cache cache(10s, 3);
  cache.learn(std::vector<store::id>{1, 2}, {}, cache.generation(), 1000);
  EXPECT_EQ(cache.lookup(1, 10'999), known::none);
  EXPECT_EQ(cache.lookup(1, 11'000), known::unknown);
  cache.learn(std::vector<store::id>{3, 4}, {}, cache.generation(), 2000);
  EXPECT_EQ(cache.lookup(1, 2000), known::unknown); // dropped with the rest
  EXPECT_EQ(cache.lookup(4, 2000), known::none);
}

} // namespace
} // namespace parley::push
