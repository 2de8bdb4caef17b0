// A page of history read with what a node keeps (message_texts, log_index) is the page read
// from the store alone, byte for byte, on both engines: through sends, edits, reactions,
// deletes and replies between reads, for members who joined late, pages of every size from
// anywhere (far below what is kept too), and budgets small enough that what is kept is cut.
#include "chat/chat_service.hpp"
#include "store/engines.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <optional>
#include <random>
#include <vector>

namespace parley::chat {
namespace {

using store::id;

class history_test : public store::conformance::store_test {
protected:
  store::user_row alice_, bob_, carol_;
  id group_ = 0;
  id other_ = 0;
  std::vector<id> sent_;
  std::mt19937 random_{20261205};

  void SetUp() override {
    store_test::SetUp();
    alice_ = transaction_.insert_user("+14155550101", "Alice", 100);
    bob_ = transaction_.insert_user("+14155550102", "Bob", 100);
    carol_ = transaction_.insert_user("+14155550103", "Carol", 100);
    for (id* conversation : {&group_, &other_}) {
      *conversation = transaction_
                          .insert_conversation(store::conversation_kind::group, "Trip",
                                               std::nullopt, alice_.user_id, 100)
                          .conversation_id;
      transaction_.insert_member(*conversation, alice_.user_id, 100, 0, true);
      transaction_.insert_member(*conversation, bob_.user_id, 100);
    }
  }

  id pick() {
    return sent_[std::uniform_int_distribution<std::size_t>(0, sent_.size() - 1)(random_)];
  }

  void send(id conversation, std::optional<id> reply_to = std::nullopt) {
    const auto index = sent_.size();
    sent_.push_back(transaction_
                        .insert_message(conversation, index % 2 ? bob_.user_id : alice_.user_id,
                                        fmt::format("message {} é", index), 1000 + id(index),
                                        fmt::format("c{}", index),
                                        transaction_.next_seq(conversation, 1000), reply_to)
                        .message_id);
  }

  // One change to a random message (of either conversation), or a new message.
  void change() {
    const auto message = pick();
    const auto conversation = transaction_.message(message)->conversation_id;
    switch (std::uniform_int_distribution<int>(0, 4)(random_)) {
    case 0:
      transaction_.edit_message(message, fmt::format("edited {}", message), 2000,
                                transaction_.next_seq(conversation));
      break;
    case 1:
      transaction_.set_reaction(message, bob_.user_id, "👍", transaction_.next_seq(conversation));
      break;
    case 2:
      if (!transaction_.message(message)->deleted()) {
        transaction_.delete_message(message, 3000, transaction_.next_seq(conversation));
      }
      break;
    case 3:
      send(conversation, message);
      break;
    default:
      send(conversation);
    }
  }

  // A page read both ways, compared (an error, for a viewer who is not a member, as well).
  void read(message_texts& texts, log_index& index) {
    const id conversation =
        std::uniform_int_distribution<int>(0, 3)(random_) == 0 ? other_ : group_;
    const auto& viewer = std::uniform_int_distribution<int>(0, 2)(random_) == 0 ? carol_ : alice_;
    std::optional<id> before;
    switch (std::uniform_int_distribution<int>(0, 3)(random_)) {
    case 0:
      break; // the latest page
    case 1:
      before = pick() + 1; // not always a message of this conversation
      break;
    default:
      before = pick();
    }
    const int limits[] = {1, 3, 50, 100};
    const int limit = limits[std::uniform_int_distribution<int>(0, 3)(random_)];
    const auto expected =
        history_read{conversation, before, limit, nullptr, nullptr}(transaction_, viewer.user_id);
    const auto kept =
        history_read{conversation, before, limit, &texts, &index}(transaction_, viewer.user_id);
    ASSERT_EQ(expected.has_value(), kept.has_value());
    if (expected) {
      ASSERT_EQ(kept->text, expected->text)
          << "conversation " << conversation << " before " << before.value_or(0) << " limit "
          << limit << " viewer " << viewer.user_id;
    }
  }

  void run(std::size_t text_budget, std::size_t index_budget) {
    message_texts texts(text_budget);
    log_index index(index_budget);
    for (int message = 0; message < 300; ++message) {
      send(message % 5 == 0 ? other_ : group_);
      if (message == 150) {
        // Seqs taken by other changes of the log (members, titles): a gap wider than a page
        // that starts far below what is kept may be read across.
        connection_->execute(fmt::format(
            "UPDATE conversations SET last_seq = last_seq + 20000 WHERE id = {}", group_));
      }
      if (message == 100) {
        transaction_.insert_member(group_, carol_.user_id, 100, *transaction_.last_seq_of(group_));
      }
    }
    for (int step = 0; step < 1500; ++step) {
      if (std::uniform_int_distribution<int>(0, 2)(random_) == 0) {
        change();
      } else {
        read(texts, index);
        if (HasFatalFailure()) {
          return;
        }
      }
    }
    const auto counts = index.statistics();
    EXPECT_GT(counts.hits, 0U);
    EXPECT_GT(counts.misses, 0U);
  }
};
PARLEY_STORE_ENGINES(history_test);

TEST_P(history_test, pages_from_what_is_kept_are_the_store_pages) {
  run(1 << 20, 1 << 20);
}

TEST_P(history_test, pages_from_what_is_kept_within_small_budgets_are_the_store_pages) {
  run(16 << 10, log_index::conversation_overhead + 40 * log_index::position_cost);
}

} // namespace
} // namespace parley::chat
