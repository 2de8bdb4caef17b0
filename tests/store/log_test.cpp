// The conversation log in the store, on both engines: seq order under concurrent writers, edits kept as
// versions, tombstones that take body, versions and reactions off the disk, reactions in the
// order of use, members' views from their seq, and the migration of a database written by the
// schema before the log (version 2) with messages, receipts and groups in it.

#include "store/engines.hpp"
#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

class log_test : public conformance::store_test {
protected:
  user_row alice_, bob_, carol_;
  id group_ = 0;

  void SetUp() override {
    store_test::SetUp();
    alice_ = transaction_.insert_user("+14155550101", "Alice", 100);
    bob_ = transaction_.insert_user("+14155550102", "Bob", 100);
    carol_ = transaction_.insert_user("+14155550103", "Carol", 100);
    group_ = transaction_
                 .insert_conversation(conversation_kind::group, "Trip", std::nullopt,
                                      alice_.user_id, 100)
                 .conversation_id;
    EXPECT_EQ(transaction_.next_seq(group_), 1);
    transaction_.insert_member(group_, alice_.user_id, 100, 0, true);
    transaction_.insert_member(group_, bob_.user_id, 100);
  }

  message_row send(id sender, std::string_view body, std::string_view client_id,
                   std::optional<id> reply_to = std::nullopt) {
    return transaction_.insert_message(group_, sender, body, 1000, client_id,
                                       transaction_.next_seq(group_, 1000), reply_to);
  }

};
PARLEY_STORE_ENGINES(log_test);

// Each writer has its own connection (as separate processes would): the conversation row's
// lock (append_message) or update (next_seq) serialises them, so the seqs are 1..N with no gap or repeat, and seq order is commit order
// (ids, taken inside the same transactions, grow with seq).
TEST_P(log_test, writers_on_separate_connections_take_consecutive_seqs_in_commit_order) {
  constexpr int k_writers = 4;
  constexpr int k_each = 50;
  std::vector<std::thread> writers;
  for (int writer = 0; writer < k_writers; ++writer) {
    writers.emplace_back([this, writer] {
      auto db = store_->connect();
      auto& transaction = db->transaction();
      for (int index = 0; index < k_each; ++index) {
        db->begin();
        const auto client_id = fmt::format("w{}-{}", writer, index);
        if (writer % 2 == 0) { // half the writers append, half take a seq then insert
          ASSERT_TRUE(transaction.append_message(group_, bob_.user_id, "hi", 1000, client_id));
        } else {
          transaction.insert_message(group_, bob_.user_id, "hi", 1000, client_id,
                                     transaction.next_seq(group_));
        }
        db->commit();
      }
    });
  }
  for (auto& writer : writers) {
    writer.join();
  }
  const auto changes = transaction_.changes_after(group_, 0, 0, 1000);
  ASSERT_EQ(changes.size(), std::size_t(k_writers * k_each));
  for (std::size_t index = 0; index < changes.size(); ++index) {
    EXPECT_EQ(changes[index].seq, id(index) + 2); // the group's creation took seq 1
    if (index > 0) {
      EXPECT_GT(changes[index].message_id, changes[index - 1].message_id);
    }
  }
  EXPECT_EQ(transaction_.conversation(group_)->last_seq, k_writers * k_each + 1);
}

// In a direct conversation the members are its pair, ascending, whichever of them sends and in
// whichever order the pair was given; a stranger's send and a repeated client_id store nothing.
TEST_P(log_test, append_message_in_a_direct_conversation_answers_its_pair) {
  const auto direct =
      transaction_
          .insert_conversation(conversation_kind::direct, std::nullopt,
                               std::pair{carol_.user_id, bob_.user_id}, carol_.user_id, 100)
          .conversation_id;
  transaction_.insert_member(direct, carol_.user_id, 100);
  transaction_.insert_member(direct, bob_.user_id, 100);
  const std::vector<id> pair{bob_.user_id, carol_.user_id};
  const auto first = transaction_.append_message(direct, carol_.user_id, "one", 5000, "d1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->member_ids, pair);
  EXPECT_EQ(first->message.seq, 1);
  const auto second = transaction_.append_message(direct, bob_.user_id, "two", 5001, "d2");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->member_ids, pair);
  EXPECT_EQ(second->message.seq, 2);
  EXPECT_FALSE(transaction_.append_message(direct, alice_.user_id, "stranger", 5002, "d3"));
  EXPECT_FALSE(transaction_.append_message(direct, carol_.user_id, "again", 5003, "d1"));
  EXPECT_EQ(transaction_.conversation(direct)->last_seq, 2);
}

// append_message stores a member's message at the next seq, raises the conversation's seq and
// activity, returns who hears of it (the members, ascending), and stores nothing for someone who
// is not a member or for a client_id sent before.
TEST_P(log_test, append_message_stores_only_a_members_new_message_at_the_next_seq) {
  const auto appended = transaction_.append_message(group_, bob_.user_id, "one", 5000, "c1");
  ASSERT_TRUE(appended);
  EXPECT_EQ(appended->member_ids, (std::vector<id>{alice_.user_id, bob_.user_id}));
  const auto* first = &appended->message;
  EXPECT_EQ(first->seq, 2);
  EXPECT_EQ(first->updated_seq, 2);
  EXPECT_EQ(first->body, "one");
  const auto replied =
      transaction_.append_message(group_, alice_.user_id, "two", 4000, "c2", first->message_id);
  ASSERT_TRUE(replied);
  const auto* reply = &replied->message;
  EXPECT_EQ(reply->seq, 3);
  ASSERT_TRUE(reply->reply_to);
  EXPECT_EQ(reply->reply_to->body, "one");
  EXPECT_FALSE(transaction_.append_message(group_, bob_.user_id, "again", 6000, "c1"));
  EXPECT_FALSE(transaction_.append_message(group_, carol_.user_id, "stranger", 6000, "c3"));
  const auto group = transaction_.conversation(group_);
  EXPECT_EQ(group->last_seq, 3);
  EXPECT_EQ(group->last_activity_at, 5000); // raised by the first, not lowered by the reply
  const auto stored = transaction_.changes_after(group_, 0, 0, 10);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].body, "one");
  EXPECT_EQ(stored[1].message_id, reply->message_id);
  EXPECT_EQ(stored[1].reply_to_id, first->message_id);
}

// A writer that locks the conversation before its checks (as every change does) waits for one
// that holds the lock, and then sees what it committed: a member removed meanwhile is gone.
TEST_P(log_test, a_writer_that_locks_the_conversation_sees_what_the_holder_committed) {
  const auto holder = store_->connect();
  holder->begin();
  holder->transaction().lock_conversation(group_);
  std::optional<member_row> seen{member_row{}};
  std::thread other([&] {
    const auto db = store_->connect();
    db->begin();
    db->transaction().lock_conversation(group_); // waits for the holder's COMMIT
    seen = db->transaction().membership(group_, bob_.user_id);
    db->commit();
  });
  if (GetParam() == conformance::engine::postgres) {
    // Only go on once the other one waits for the lock (without the lock it would have read
    // the membership already, and this test would prove nothing).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (connection_->count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                              "'Lock' AND application_name = current_setting('application_name')") == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the other writer never waited";
    }
  }
  holder->transaction().delete_member(group_, bob_.user_id);
  holder->transaction().next_seq(group_);
  holder->commit();
  other.join();
  EXPECT_FALSE(seen) << "the removal committed before was not seen";
}

TEST_P(log_test, an_edit_keeps_the_previous_body_as_a_version) {
  const auto sent = send(bob_.user_id, "helo", "1");
  transaction_.edit_message(sent.message_id, "hello", 2000, transaction_.next_seq(group_));
  transaction_.edit_message(sent.message_id, "hello!", 3000, transaction_.next_seq(group_));
  const auto now = transaction_.message(sent.message_id);
  EXPECT_EQ(now->body, "hello!");
  EXPECT_EQ(now->seq, 2);
  EXPECT_EQ(now->updated_seq, 4);
  EXPECT_EQ(now->edited_at, 3000);
  const auto versions = connection_->rows(
      "SELECT body, written_at, replaced_seq FROM message_versions ORDER BY replaced_seq");
  const std::vector<std::vector<std::string>> expected{{"helo", "1000", "3"},
                                                       {"hello", "2000", "4"}};
  EXPECT_EQ(versions, expected);
}

TEST_P(log_test, a_tombstone_keeps_its_place_and_loses_body_versions_and_reactions) {
  const auto sent = send(bob_.user_id, "secret", "1");
  const auto reply = send(alice_.user_id, "what?", "2", sent.message_id);
  transaction_.edit_message(sent.message_id, "secret 2", 2000, transaction_.next_seq(group_));
  transaction_.set_reaction(sent.message_id, alice_.user_id, "👍", transaction_.next_seq(group_));
  EXPECT_EQ(transaction_.message(reply.message_id)->reply_to->body, "secret 2");
  transaction_.delete_message(sent.message_id, 3000, transaction_.next_seq(group_));
  const auto gone = transaction_.message(sent.message_id);
  EXPECT_TRUE(gone->deleted());
  EXPECT_EQ(gone->body, "");
  EXPECT_TRUE(gone->reactions.empty());
  EXPECT_EQ(gone->edited_at, 2000); // stays
  EXPECT_EQ(gone->updated_seq, 6);
  EXPECT_EQ(count("SELECT count(*) FROM message_versions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM reactions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM messages WHERE body LIKE '%secret%'"), 0);
  const auto quoted = transaction_.message(reply.message_id)->reply_to;
  ASSERT_TRUE(quoted);
  EXPECT_TRUE(quoted->deleted);
  EXPECT_EQ(quoted->body, "");
  EXPECT_EQ(quoted->sender_id, bob_.user_id);
}

TEST_P(log_test, a_quote_is_the_first_hundred_characters_of_the_current_body_and_its_latest_change) {
  std::string long_body;
  for (int index = 0; index < 120; ++index) {
    long_body += "é";
  }
  const auto sent = send(bob_.user_id, long_body, "1");
  const auto reply = send(alice_.user_id, "yes", "2", sent.message_id);
  const auto quote = transaction_.message(reply.message_id)->reply_to;
  ASSERT_TRUE(quote);
  EXPECT_EQ(quote->message_id, sent.message_id);
  EXPECT_EQ(quote->body, long_body.substr(0, 200)); // 100 two-byte characters
  EXPECT_EQ(quote->updated_seq, sent.updated_seq);
  transaction_.edit_message(sent.message_id, "changed", 2000, transaction_.next_seq(group_));
  const auto edited = transaction_.message(reply.message_id)->reply_to;
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->updated_seq, transaction_.message(sent.message_id)->updated_seq);
  EXPECT_GT(edited->updated_seq, sent.updated_seq);
}

// What a reader that keeps messages (chat::message_texts) relies on: page_positions names a
// page's messages with their latest change, from indexes alone, and every change to a message
// moves it; updated_seq_of is the quoted part of a reply's version.
TEST_P(log_test, page_positions_name_the_page_and_each_message_latest_change) {
  transaction_.insert_member(group_, carol_.user_id, 100);
  std::vector<message_row> sent;
  for (int index = 0; index < 8; ++index) {
    sent.push_back(send(bob_.user_id, fmt::format("m{}", index), fmt::format("{}", index),
                        index == 5 ? std::optional<id>(sent[1].message_id) : std::nullopt));
  }
  transaction_.edit_message(sent[2].message_id, "m2!", 2000, transaction_.next_seq(group_));
  transaction_.set_reaction(sent[6].message_id, alice_.user_id, "👍", transaction_.next_seq(group_));
  transaction_.delete_message(sent[1].message_id, 3000, transaction_.next_seq(group_));
  const auto added_at = sent[0].seq; // as if a member had joined after the first message
  // What the page must be: the messages by seq, newest first, within the bounds.
  const auto same = [&](std::optional<id> before, id from_seq, int limit) {
    std::vector<message_row> expected;
    for (auto index = sent.size(); index-- > 0;) {
      const auto now = transaction_.message(sent[index].message_id);
      if (now->seq > from_seq && (!before || now->seq < transaction_.message(*before)->seq) &&
          expected.size() < std::size_t(limit)) {
        expected.push_back(*now);
      }
    }
    const auto positions = transaction_.page_positions(group_, before, from_seq, limit);
    ASSERT_EQ(positions.size(), expected.size());
    for (std::size_t index = 0; index < expected.size(); ++index) {
      EXPECT_EQ(positions[index].message_id, expected[index].message_id) << index;
      EXPECT_EQ(positions[index].seq, expected[index].seq) << index;
      EXPECT_EQ(positions[index].updated_seq, expected[index].updated_seq) << index;
    }
  };
  same(std::nullopt, 0, 100);
  same(std::nullopt, 0, 3);
  same(sent[6].message_id, 0, 3);
  same(sent[3].message_id, added_at, 10);
  same(sent[0].message_id, 0, 10);
  const auto all = transaction_.page_positions(group_, std::nullopt, 0, 100);
  ASSERT_EQ(all.size(), 8U);
  EXPECT_EQ(all[0].message_id, sent[7].message_id);
  EXPECT_GT(all[1].updated_seq, sent[6].seq) << "the reaction";
  EXPECT_EQ(all[2].updated_seq, sent[5].seq) << "a reply does not move with its quote";
  EXPECT_GT(all[5].updated_seq, sent[2].seq) << "the edit";
  EXPECT_EQ(all[7].updated_seq, sent[0].seq);
  EXPECT_EQ(transaction_.updated_seq_of(sent[1].message_id), all[6].updated_seq);
  EXPECT_EQ(transaction_.updated_seq_of(sent[3].message_id), sent[3].seq);
  EXPECT_EQ(transaction_.updated_seq_of(1'000'000), std::nullopt);
  EXPECT_TRUE(transaction_.page_positions(group_, sent[0].message_id, 0, 10).empty());
}

// What a node that keeps conversations' positions (chat::log_index) relies on to bring them
// up to date: last_seq_of is the latest change, and positions_changed_after names every
// message changed after a seq (sent, edited, reacted to, deleted) once, as it is now.
TEST_P(log_test, positions_changed_after_name_each_message_changed_since_a_seq_once) {
  std::vector<message_row> sent;
  for (int index = 0; index < 4; ++index) {
    sent.push_back(send(bob_.user_id, fmt::format("m{}", index), fmt::format("{}", index)));
  }
  const auto mark = transaction_.last_seq_of(group_);
  ASSERT_TRUE(mark);
  EXPECT_EQ(*mark, sent[3].seq);
  EXPECT_TRUE(transaction_.positions_changed_after(group_, *mark, 100).empty());
  transaction_.edit_message(sent[0].message_id, "m0!", 2000, transaction_.next_seq(group_));
  sent.push_back(send(alice_.user_id, "m4", "4"));
  sent.push_back(send(alice_.user_id, "m5", "5"));
  transaction_.set_reaction(sent[4].message_id, bob_.user_id, "👍", transaction_.next_seq(group_));
  transaction_.delete_message(sent[2].message_id, 3000, transaction_.next_seq(group_));
  transaction_.edit_message(sent[0].message_id, "m0!!", 4000, transaction_.next_seq(group_));
  EXPECT_EQ(transaction_.last_seq_of(group_),
            transaction_.message(sent[0].message_id)->updated_seq);

  auto changed = transaction_.positions_changed_after(group_, *mark, 100);
  std::ranges::sort(changed, {}, &message_position::message_id);
  const std::vector<std::size_t> expected{0, 2, 4, 5};
  ASSERT_EQ(changed.size(), expected.size());
  for (std::size_t index = 0; index < expected.size(); ++index) {
    const auto now = transaction_.message(sent[expected[index]].message_id);
    EXPECT_EQ(changed[index].message_id, now->message_id) << index;
    EXPECT_EQ(changed[index].seq, now->seq) << index;
    EXPECT_EQ(changed[index].updated_seq, now->updated_seq) << index;
  }
  // Up to `limit` of each kind: one new message and one changed one.
  EXPECT_EQ(transaction_.positions_changed_after(group_, *mark, 1).size(), 2U);
  // After the newest change, nothing; and nothing for a conversation that does not exist.
  EXPECT_TRUE(
      transaction_.positions_changed_after(group_, *transaction_.last_seq_of(group_), 100).empty());
  EXPECT_EQ(transaction_.last_seq_of(1'000'000), std::nullopt);
}

TEST_P(log_test, reactions_are_listed_by_first_use_and_users_in_the_order_they_reacted) {
  transaction_.insert_member(group_, carol_.user_id, 100);
  const auto sent = send(bob_.user_id, "party", "1");
  const auto react = [&](const user_row& who, std::optional<std::string_view> emoji) {
    transaction_.set_reaction(sent.message_id, who.user_id, emoji, transaction_.next_seq(group_));
  };
  react(carol_, "🎉");
  react(alice_, "👍");
  react(bob_, "🎉");
  auto now = transaction_.message(sent.message_id);
  ASSERT_EQ(now->reactions.size(), 2U);
  EXPECT_EQ(now->reactions[0].emoji, "🎉");
  EXPECT_EQ(now->reactions[0].user_ids, (std::vector<id>{carol_.user_id, bob_.user_id}));
  EXPECT_EQ(now->reactions[1].emoji, "👍");
  // Carol's 🎉 goes; the run goes on with Bob and keeps its place.
  react(carol_, std::nullopt);
  now = transaction_.message(sent.message_id);
  EXPECT_EQ(now->reactions[0].emoji, "🎉");
  EXPECT_EQ(now->reactions[0].user_ids, std::vector<id>{bob_.user_id});
  // 🎉's last user changes to ❤️: 🎉 is gone, and when used again it goes last.
  react(bob_, "❤️");
  react(carol_, "🎉");
  now = transaction_.message(sent.message_id);
  ASSERT_EQ(now->reactions.size(), 3U);
  EXPECT_EQ(now->reactions[0].emoji, "👍");
  EXPECT_EQ(now->reactions[1].emoji, "❤️");
  EXPECT_EQ(now->reactions[2].emoji, "🎉");
  EXPECT_EQ(now->updated_seq, transaction_.conversation(group_)->last_seq);
  EXPECT_EQ(count("SELECT count(*) FROM reactions"), 3); // one per user
}

TEST_P(log_test, a_member_added_later_sees_only_what_follows) {
  const auto before = send(bob_.user_id, "before Carol", "1");
  const id added_at = transaction_.next_seq(group_);
  transaction_.insert_member(group_, carol_.user_id, 2000, added_at);
  const auto after = send(bob_.user_id, "after Carol", "2");
  // An edit of an old message does not show it to her either.
  transaction_.edit_message(before.message_id, "before Carol!", 3000, transaction_.next_seq(group_));
  const auto member = transaction_.membership(group_, carol_.user_id);
  EXPECT_EQ(member->from_seq, added_at);
  const auto changes = transaction_.changes_after(group_, member->from_seq, member->from_seq, 10);
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].message_id, after.message_id);
  const auto page = messages_before(group_, std::nullopt, member->from_seq, 10);
  ASSERT_EQ(page.size(), 1U);
  EXPECT_EQ(page[0].message_id, after.message_id);
  EXPECT_EQ(transaction_.summary(group_, carol_.user_id)->unread_count, 1);
  EXPECT_EQ(transaction_.summary(group_, alice_.user_id)->unread_count, 2);
  const auto positions = transaction_.log_positions(carol_.user_id);
  ASSERT_EQ(positions.size(), 1U);
  EXPECT_EQ(positions[0].from_seq, added_at);
  EXPECT_EQ(positions[0].last_seq, transaction_.conversation(group_)->last_seq);
}

TEST_P(log_test, members_come_longest_standing_first_and_admins_can_change) {
  transaction_.insert_member(group_, carol_.user_id, 50, transaction_.next_seq(group_));
  auto members = transaction_.members(group_);
  ASSERT_EQ(members.size(), 3U);
  EXPECT_EQ(members[0].user_id, alice_.user_id);
  EXPECT_TRUE(members[0].admin);
  EXPECT_EQ(members[2].user_id, carol_.user_id);
  transaction_.set_admin(group_, carol_.user_id, true);
  transaction_.delete_member(group_, alice_.user_id);
  members = transaction_.members(group_);
  ASSERT_EQ(members.size(), 2U);
  EXPECT_TRUE(members[1].admin);
  transaction_.set_title(group_, "Trip 2");
  EXPECT_EQ(transaction_.conversation(group_)->title, "Trip 2");
}

TEST_P(log_test, a_gone_group_keeps_its_row_so_its_id_is_never_reused) {
  send(bob_.user_id, "x", "1");
  transaction_.delete_member(group_, alice_.user_id);
  transaction_.delete_member(group_, bob_.user_id);
  transaction_.delete_messages(group_);
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 0);
  EXPECT_TRUE(transaction_.conversation(group_));
  const auto next = transaction_.insert_conversation(conversation_kind::group, "New",
                                                     std::nullopt, bob_.user_id, 200);
  EXPECT_GT(next.conversation_id, group_);
}

// A database as the release before the log wrote it (schema 2): every row carries over, seqs
// follow id order per conversation (after a group's creation), and group creators are admins.
class log_migration : public ::testing::TestWithParam<conformance::engine> {};
PARLEY_STORE_ENGINES(log_migration);

TEST_P(log_migration, a_version_2_database_migrates_with_every_row_checked) {
  const auto store = conformance::test_store::make(GetParam());
  const auto db = store->connect();
  ASSERT_EQ(db->migrate(2), 2);
  db->execute(R"sql(
INSERT INTO users (id, phone, name, created_at) VALUES
  (1, '+14155550101', 'Alice', 1), (2, '+14155550102', 'Bob', 2), (3, '+14155550103', 'Carol', 3);
INSERT INTO contacts (owner_id, contact_id, name, created_at) VALUES (1, 2, 'Bobby', 5);
INSERT INTO conversations (id, kind, title, direct_low, direct_high, created_by, created_at,
                           last_message_id, last_activity_at) VALUES
  (10, 'direct', NULL, 1, 2, 1, 10, 103, 1003),
  (11, 'group', 'Trip', NULL, NULL, 2, 11, 104, 1004),
  (12, 'group', 'Quiet', NULL, NULL, 3, 12, NULL, 12);
INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_id,
                                  last_delivered_id) VALUES
  (10, 1, 10, 103, 103), (10, 2, 10, 101, 103),
  (11, 1, 11, 0, 104), (11, 2, 11, 104, 104), (11, 3, 11, 102, 102),
  (12, 3, 12, 0, 0);
INSERT INTO messages (id, conversation_id, sender_id, body, sent_at, client_id) VALUES
  (101, 10, 1, 'hi', 1001, 'a1'), (102, 11, 2, 'trip?', 1002, 'b1'),
  (103, 10, 2, 'hello', 1003, 'b2'), (104, 11, 3, 'yes', 1004, 'c1');
)sql");
  db->ids_inserted();
  ASSERT_EQ(db->migrate(), migrations().back().version);
  auto& transaction = db->transaction();

  struct expected_message {
    id message_id;
    id conversation_id;
    id sender_id;
    std::string body;
    id seq;
  };
  for (const auto& want : {expected_message{101, 10, 1, "hi", 1},
                           expected_message{102, 11, 2, "trip?", 2},
                           expected_message{103, 10, 2, "hello", 2},
                           expected_message{104, 11, 3, "yes", 3}}) {
    const auto got = transaction.message(want.message_id);
    ASSERT_TRUE(got) << want.message_id;
    EXPECT_EQ(got->conversation_id, want.conversation_id);
    EXPECT_EQ(got->sender_id, want.sender_id);
    EXPECT_EQ(got->body, want.body);
    EXPECT_EQ(got->seq, want.seq) << want.message_id;
    EXPECT_EQ(got->updated_seq, want.seq);
    EXPECT_FALSE(got->edited_at);
    EXPECT_FALSE(got->deleted());
    EXPECT_FALSE(got->reply_to_id);
    EXPECT_TRUE(got->reactions.empty());
  }
  EXPECT_EQ(transaction.conversation(10)->last_seq, 2);
  EXPECT_EQ(transaction.conversation(11)->last_seq, 3);
  EXPECT_EQ(transaction.conversation(12)->last_seq, 1); // a group's creation is its seq 1
  EXPECT_EQ(transaction.conversation(11)->title, "Trip");
  EXPECT_EQ(transaction.conversation(10)->last_message_id, 103);

  struct expected_member {
    id conversation_id;
    id user_id;
    id read;
    id delivered;
    bool admin;
  };
  for (const auto& want : {expected_member{10, 1, 103, 103, false},
                           expected_member{10, 2, 101, 103, false},
                           expected_member{11, 1, 0, 104, false},
                           expected_member{11, 2, 104, 104, true},
                           expected_member{11, 3, 102, 102, false},
                           expected_member{12, 3, 0, 0, true}}) {
    const auto got = transaction.membership(want.conversation_id, want.user_id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->last_read_id, want.read);
    EXPECT_EQ(got->last_delivered_id, want.delivered);
    EXPECT_EQ(got->admin, want.admin) << want.conversation_id << "/" << want.user_id;
    EXPECT_EQ(got->from_seq, 0);
  }
  EXPECT_EQ(transaction.contact(1, 2)->name, "Bobby");
  EXPECT_EQ(transaction.summary(11, 1)->unread_count, 2);
  // The log goes on from there.
  EXPECT_EQ(transaction.next_seq(11), 4);
  const auto next = transaction.insert_message(11, 1, "ok", 2000, "a2", 4);
  EXPECT_GT(next.message_id, 104);
  EXPECT_EQ(transaction.changes_after(11, 2, 0, 10).size(), 2U);
}

// A database of version 6, whose newest message was deleted: after the migration that takes
// AUTOINCREMENT away (SQLite), the next message still takes an id above it, the table keeps
// its rows, and a send no longer writes sqlite_sequence.
TEST_P(log_migration, message_ids_stay_above_the_deleted_newest_across_the_id_migration) {
  const auto store = conformance::test_store::make(GetParam());
  const auto db = store->connect();
  ASSERT_EQ(db->migrate(6), 6);
  db->execute(R"sql(
INSERT INTO users (id, phone, name, created_at) VALUES
  (1, '+14155550101', 'Alice', 1), (2, '+14155550102', 'Bob', 2);
INSERT INTO conversations (id, kind, direct_low, direct_high, created_by, created_at,
                           last_activity_at, last_seq) VALUES (10, 'direct', 1, 2, 1, 10, 12, 2);
INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES (10, 1, 10), (10, 2, 10);
INSERT INTO messages (id, conversation_id, sender_id, body, sent_at, client_id, seq, updated_seq)
VALUES (101, 10, 1, 'hi', 11, 'a1', 1, 1), (102, 10, 2, 'hello', 12, 'b1', 2, 2);
)sql");
  db->ids_inserted();
  db->execute("DELETE FROM messages WHERE id = 102");
  ASSERT_EQ(db->migrate(), migrations().back().version);

  const auto next = db->transaction().append_message(10, 1, "again", 13, "a2", std::nullopt);
  ASSERT_TRUE(next);
  EXPECT_GT(next->message.message_id, 102);
  EXPECT_EQ(db->transaction().message(101)->body, "hi");
  if (GetParam() == conformance::engine::sqlite) {
    const auto table = db->rows("SELECT sql FROM sqlite_schema WHERE name = 'messages'");
    ASSERT_EQ(table.size(), 1U);
    EXPECT_EQ(table[0][0].find("AUTOINCREMENT"), std::string::npos) << table[0][0];
    EXPECT_TRUE(db->rows("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").empty());
    EXPECT_EQ(db->rows("PRAGMA integrity_check"), (std::vector<std::vector<std::string>>{{"ok"}}));
  }
}

} // namespace
} // namespace parley::store
