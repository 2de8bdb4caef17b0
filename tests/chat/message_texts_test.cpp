// message_texts: a text is found only at the version it was kept at, a newer one replaces it,
// and past the budget the oldest go first unless used since (a second chance).
#include "chat/message_texts.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace parley::chat {
namespace {

using store::message_version;

message_version version(store::id message, store::id updated_seq,
                        std::optional<store::id> quoted = std::nullopt,
                        std::optional<store::id> quoted_seq = std::nullopt) {
  return message_version{message, updated_seq, quoted, quoted_seq};
}

// As a page does: the text kept at the message's updated_seq, if its quote's part matches too,
// counted as a hit or a miss.
std::optional<std::string> found(message_texts& texts, const message_version& wanted) {
  std::string out = "before:";
  const auto kept = texts.append_at(wanted.message_id, wanted.updated_seq, out);
  if (!kept) {
    EXPECT_EQ(out, "before:") << "a miss appends nothing";
  }
  const bool hit = kept && *kept == wanted;
  texts.count(hit ? 1 : 0, hit ? 0 : 1);
  return hit ? std::optional(out.substr(7)) : std::nullopt;
}

// Message ids that share a shard (so that one shard's share of the budget is what counts).
constexpr store::id same_shard(store::id index) {
  return index * store::id{message_texts::shards};
}

TEST(message_texts, a_text_is_found_at_its_version_only) {
  message_texts texts(1 << 20);
  EXPECT_EQ(found(texts, version(1, 5)), std::nullopt);
  texts.keep(version(1, 5), "five");
  EXPECT_EQ(found(texts, version(1, 5)), "five");
  EXPECT_EQ(found(texts, version(1, 6)), std::nullopt) << "a later change";
  EXPECT_EQ(found(texts, version(2, 5)), std::nullopt) << "another message";

  texts.keep(version(3, 7, 1, 5), "a reply");
  EXPECT_EQ(found(texts, version(3, 7, 1, 5)), "a reply");
  EXPECT_EQ(found(texts, version(3, 7, 1, 6)), std::nullopt) << "the quoted message changed";
  EXPECT_EQ(found(texts, version(3, 7, 1, std::nullopt)), std::nullopt) << "the quote is gone";

  const auto counts = texts.statistics();
  EXPECT_EQ(counts.entries, 2U);
  EXPECT_EQ(counts.hits, 2U);
  EXPECT_EQ(counts.misses, 5U);
}

// For a page whose versions come from indexes alone: found by updated_seq, the kept version
// returned for the caller to check its quote's part; counted only when the caller says.
TEST(message_texts, append_at_finds_by_updated_seq_and_returns_the_kept_version) {
  message_texts texts(1 << 20);
  texts.keep(version(3, 7, 1, 5), "a reply");
  std::string out = "[";
  EXPECT_EQ(texts.append_at(3, 8, out), std::nullopt);
  EXPECT_EQ(texts.append_at(4, 7, out), std::nullopt);
  EXPECT_EQ(out, "[");
  EXPECT_EQ(texts.append_at(3, 7, out), version(3, 7, 1, 5));
  EXPECT_EQ(out, "[a reply");
  EXPECT_EQ(texts.statistics().hits + texts.statistics().misses, 0U);
  texts.count(2, 3);
  EXPECT_EQ(texts.statistics().hits, 2U);
  EXPECT_EQ(texts.statistics().misses, 3U);
}

TEST(message_texts, a_newer_version_replaces_the_older) {
  message_texts texts(1 << 20);
  texts.keep(version(1, 5), "five");
  texts.keep(version(1, 9), "nine!");
  EXPECT_EQ(found(texts, version(1, 5)), std::nullopt);
  EXPECT_EQ(found(texts, version(1, 9)), "nine!");
  const auto counts = texts.statistics();
  EXPECT_EQ(counts.entries, 1U);
  EXPECT_EQ(counts.bytes, 5 + message_texts::entry_overhead);
}

TEST(message_texts, past_the_budget_the_oldest_go_unless_used_since) {
  const std::string ten(10, 'x');
  const auto each = ten.size() + message_texts::entry_overhead;
  message_texts texts(3 * each * message_texts::shards); // three texts a shard
  for (store::id index = 1; index <= 3; ++index) {
    texts.keep(version(same_shard(index), 1), ten);
  }
  EXPECT_TRUE(found(texts, version(same_shard(1), 1))); // the oldest, but used
  texts.keep(version(same_shard(4), 1), ten);
  EXPECT_EQ(found(texts, version(same_shard(2), 1)), std::nullopt) << "the oldest unused";
  for (const store::id kept : {1, 3, 4}) {
    EXPECT_TRUE(found(texts, version(same_shard(kept), 1))) << kept;
  }
  EXPECT_EQ(texts.statistics().bytes, 3 * each);
  // Another shard's budget is its own.
  texts.keep(version(1, 1), ten);
  EXPECT_EQ(texts.statistics().entries, 4U);
  // A text costing two entries pushes out as many as it needs, never itself: all three were
  // used since, so each goes round once, then the oldest two go (3 and 4).
  texts.keep(version(same_shard(5), 1), std::string(10 + each, 'y'));
  EXPECT_EQ(texts.statistics().bytes, 3 * each + each);
  EXPECT_TRUE(found(texts, version(same_shard(5), 1)));
  EXPECT_TRUE(found(texts, version(same_shard(1), 1)));
  EXPECT_FALSE(found(texts, version(same_shard(3), 1)));
  EXPECT_FALSE(found(texts, version(same_shard(4), 1)));
}

TEST(message_texts, nothing_longer_than_a_shards_budget_is_kept) {
  message_texts none(0);
  none.keep(version(1, 1), "x");
  EXPECT_EQ(found(none, version(1, 1)), std::nullopt);
  EXPECT_EQ(none.statistics().entries, 0U);

  message_texts small((message_texts::entry_overhead + 4) * message_texts::shards);
  small.keep(version(same_shard(1), 1), "four");
  small.keep(version(same_shard(2), 1), "fives");
  EXPECT_EQ(found(small, version(same_shard(1), 1)), "four") << "the longer one changed nothing";
  EXPECT_EQ(found(small, version(same_shard(2), 1)), std::nullopt);
}

// Readers on several threads at once (the store's read threads): every text found is its
// message's, the counts add up and the budget holds.
TEST(message_texts, threads_share_it) {
  const std::size_t budget = 64 * (2 + message_texts::entry_overhead);
  message_texts texts(budget);
  constexpr int k_threads = 4;
  constexpr int k_rounds = 2000;
  std::vector<std::thread> threads;
  for (int thread = 0; thread < k_threads; ++thread) {
    threads.emplace_back([&texts, thread] {
      for (int round = 0; round < k_rounds; ++round) {
        const auto wanted = version((round * 7 + thread) % 100, round % 3);
        if (const auto text = found(texts, wanted)) {
          EXPECT_EQ(*text, std::to_string(wanted.message_id));
        } else {
          texts.keep(wanted, std::to_string(wanted.message_id));
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto counts = texts.statistics();
  EXPECT_EQ(counts.hits + counts.misses, std::uint64_t{k_threads * k_rounds});
  EXPECT_LE(counts.bytes, budget);
  EXPECT_LT(counts.entries, 100U) << "some were pushed out";
}

} // namespace
} // namespace parley::chat
