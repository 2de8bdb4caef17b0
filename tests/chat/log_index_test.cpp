// log_index: a page is found only in positions kept as of the reader's last_seq and reaching
// down far enough; updates apply only to the state they were read against; the budget lets
// the conversations used longest ago go, then a lone conversation's oldest positions.
#include "chat/log_index.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace parley::chat {
namespace {

using store::id;
using store::message_position;

constexpr id k_conversation = 7;

// Messages 1..count at seq 10, 20, … (ids 100, 101, …), newest first as the store reads them.
std::vector<message_position> newest_first(int count, int lowest = 1) {
  std::vector<message_position> positions;
  for (int index = count; index >= lowest; --index) {
    positions.push_back(message_position{99 + index, index * 10, index * 10});
  }
  return positions;
}

std::vector<id> ids_of(const std::vector<message_position>& positions) {
  std::vector<id> ids;
  for (const auto& position : positions) {
    ids.push_back(position.message_id);
  }
  return ids;
}

struct page_result {
  log_index::seen seen;
  std::vector<message_position> positions;
};

page_result page(log_index& index, id last_seq, std::optional<id> before, id from_seq, int limit,
                 id conversation = k_conversation) {
  page_result result;
  result.positions.push_back(message_position{1, 1, 1}); // find clears what was there
  result.seen = index.find(conversation, last_seq, before, from_seq, limit, result.positions);
  if (!result.seen.page) {
    EXPECT_TRUE(result.positions.empty());
  }
  return result;
}

// Ten messages kept whole (down to the first) as of seq 100.
void keep_whole(log_index& index) {
  index.start(k_conversation, 100);
  index.extend(k_conversation, 100, 100, newest_first(10), true);
}

TEST(log_index, finds_nothing_for_a_conversation_it_does_not_keep) {
  log_index index(1 << 20);
  const auto found = page(index, 100, std::nullopt, 0, 5);
  EXPECT_FALSE(found.seen.page);
  EXPECT_FALSE(found.seen.as_of);
}

TEST(log_index, finds_pages_as_the_store_would_in_positions_kept_as_of_the_reader_seq) {
  log_index index(1 << 20);
  keep_whole(index);
  EXPECT_EQ(ids_of(page(index, 100, std::nullopt, 0, 3).positions),
            (std::vector<id>{109, 108, 107}));
  EXPECT_EQ(ids_of(page(index, 100, 105, 0, 3).positions), (std::vector<id>{104, 103, 102}));
  // The bottom of the conversation: a short page is the whole of it.
  const auto bottom = page(index, 100, 102, 0, 5);
  EXPECT_TRUE(bottom.seen.page);
  EXPECT_EQ(ids_of(bottom.positions), (std::vector<id>{101, 100}));
  EXPECT_TRUE(page(index, 100, 100, 0, 5).seen.page);
  EXPECT_TRUE(page(index, 100, 100, 0, 5).positions.empty());
  // A member from seq 40 on sees nothing at or below it.
  EXPECT_EQ(ids_of(page(index, 100, 106, 40, 5).positions), (std::vector<id>{105, 104}));
  // An id that is no message of the conversation bounds by id all the same.
  EXPECT_EQ(ids_of(page(index, 100, 1'000, 0, 2).positions), (std::vector<id>{109, 108}));
  // Another reader's seq: kept as of 100 does not answer a read at 101 (nor at 99).
  const auto later = page(index, 101, std::nullopt, 0, 3);
  EXPECT_FALSE(later.seen.page);
  EXPECT_EQ(later.seen.as_of, 100);
  EXPECT_FALSE(page(index, 99, std::nullopt, 0, 3).seen.page);
}

TEST(log_index, a_page_reaching_below_the_floor_is_not_found) {
  log_index index(1 << 20);
  index.start(k_conversation, 100);
  EXPECT_FALSE(page(index, 100, std::nullopt, 0, 1).seen.page) << "nothing kept yet";
  index.extend(k_conversation, 100, 100, newest_first(10, 6), false); // seq 60 to 100
  const auto seen = page(index, 100, std::nullopt, 0, 1).seen;
  EXPECT_EQ(seen.floor, 59);
  EXPECT_EQ(seen.lowest_id, 105);
  EXPECT_TRUE(page(index, 100, std::nullopt, 0, 5).seen.page);
  EXPECT_FALSE(page(index, 100, std::nullopt, 0, 6).seen.page);
  EXPECT_FALSE(page(index, 100, 106, 0, 2).seen.page);
  EXPECT_TRUE(page(index, 100, 106, 59, 2).seen.page) << "nothing at or below the floor wanted";
  EXPECT_FALSE(page(index, 100, 106, 58, 2).seen.page) << "seq 59 may be a message not kept";
  EXPECT_FALSE(page(index, 100, 103, 0, 2).seen.page);
  // Laid under by a reader that saw the same floor; a reader that saw another is ignored.
  index.extend(k_conversation, 100, 100, newest_first(5), true);
  EXPECT_FALSE(page(index, 100, 103, 0, 2).seen.page);
  index.extend(k_conversation, 100, 59, newest_first(5), true);
  EXPECT_EQ(ids_of(page(index, 100, 103, 0, 5).positions), (std::vector<id>{102, 101, 100}));
}

TEST(log_index, advance_adds_new_messages_and_moves_changed_ones) {
  log_index index(1 << 20);
  keep_whole(index);
  const std::vector<message_position> changed{
      {110, 110, 110}, // sent
      {103, 40, 120},  // edited
      {111, 115, 130}, // sent, then reacted to
  };
  index.advance(k_conversation, 100, 130, changed);
  const auto found = page(index, 130, std::nullopt, 0, 13);
  ASSERT_TRUE(found.seen.page);
  EXPECT_EQ(ids_of(found.positions),
            (std::vector<id>{111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100}));
  EXPECT_EQ(found.positions[0].updated_seq, 130);
  EXPECT_EQ(found.positions[8].updated_seq, 120);
  EXPECT_EQ(found.positions[9].updated_seq, 30);
  // From a state it is no longer in: nothing.
  index.advance(k_conversation, 100, 140, std::vector<message_position>{{112, 140, 140}});
  EXPECT_TRUE(page(index, 130, std::nullopt, 0, 1).seen.page);
  EXPECT_FALSE(page(index, 140, std::nullopt, 0, 1).seen.page);
}

TEST(log_index, advance_forgets_what_does_not_fit) {
  for (const auto& odd : std::vector<message_position>{
           {104, 40, 100}, // not changed after 100
           {104, 40, 150}, // changed after the seq it brings them to
           {999, 40, 110}, // not the message kept at that seq
       }) {
    log_index index(1 << 20);
    keep_whole(index);
    index.advance(k_conversation, 100, 110, std::vector<message_position>{odd});
    EXPECT_FALSE(page(index, 110, std::nullopt, 0, 1).seen.as_of) << odd.message_id;
    EXPECT_FALSE(page(index, 100, std::nullopt, 0, 1).seen.as_of) << odd.message_id;
  }
  // A change below the floor is not kept, and not a reason to forget.
  log_index index(1 << 20);
  index.start(k_conversation, 100);
  index.extend(k_conversation, 100, 100, newest_first(10, 6), false);
  index.advance(k_conversation, 100, 110, std::vector<message_position>{{101, 20, 110}});
  EXPECT_TRUE(page(index, 110, std::nullopt, 0, 5).seen.page);
}

TEST(log_index, positions_laid_under_must_be_below_what_is_kept) {
  log_index index(1 << 20);
  index.start(k_conversation, 100);
  index.extend(k_conversation, 100, 100, newest_first(10, 6), false);
  index.extend(k_conversation, 100, 59, newest_first(6), false); // seq 60 again
  EXPECT_FALSE(page(index, 100, std::nullopt, 0, 1).seen.as_of);
}

TEST(log_index, the_conversations_used_longest_ago_go_first_then_a_lone_one_keeps_its_newest) {
  constexpr std::size_t k_one = log_index::conversation_overhead + 10 * log_index::position_cost;
  log_index index(2 * k_one);
  for (id conversation : {1, 2, 3}) {
    index.start(conversation, 100);
    index.extend(conversation, 100, 100, newest_first(10), true);
    if (conversation == 2) {
      EXPECT_TRUE(page(index, 100, std::nullopt, 0, 1, 1).seen.page); // 1 used after 2
    }
  }
  EXPECT_TRUE(page(index, 100, std::nullopt, 0, 1, 1).seen.page);
  EXPECT_FALSE(page(index, 100, std::nullopt, 0, 1, 2).seen.as_of);
  EXPECT_TRUE(page(index, 100, std::nullopt, 0, 1, 3).seen.page);
  EXPECT_LE(index.statistics().bytes, 2 * k_one);
  EXPECT_EQ(index.statistics().conversations, 2U);
  EXPECT_EQ(index.statistics().positions, 20U);

  // One conversation larger than the budget keeps its newest positions.
  log_index small(k_one);
  small.start(k_conversation, 300);
  small.extend(k_conversation, 300, 300, newest_first(30), true);
  EXPECT_LE(small.statistics().bytes, k_one);
  EXPECT_EQ(small.statistics().positions, 10U);
  EXPECT_EQ(ids_of(page(small, 300, std::nullopt, 0, 10).positions).back(), 120);
  EXPECT_FALSE(page(small, 300, std::nullopt, 0, 11).seen.page);
  EXPECT_EQ(page(small, 300, std::nullopt, 0, 11).seen.floor, 200);
}

TEST(log_index, keeps_nothing_without_a_budget) {
  log_index index(0);
  index.start(k_conversation, 100);
  index.extend(k_conversation, 100, 100, newest_first(10), true);
  EXPECT_FALSE(page(index, 100, std::nullopt, 0, 1).seen.as_of);
  EXPECT_EQ(index.statistics().bytes, 0U);
}

} // namespace
} // namespace parley::chat
