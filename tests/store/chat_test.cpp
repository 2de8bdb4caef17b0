// The chat queries of the store, on both engines: contacts, conversations, members, messages,
// their constraints, and every query's plan.

#include "store/chat_queries.hpp"
#include "store/upload_queries.hpp"
#include "store/engines.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace parley::store {
namespace {

class chat_test : public conformance::store_test {
protected:
  user_row alice_, bob_, carol_;

  void SetUp() override {
    store_test::SetUp();
    alice_ = transaction_.insert_user("+14155550101", "Alice", 100);
    bob_ = transaction_.insert_user("+14155550102", "Bob", 100);
    carol_ = transaction_.insert_user("+14155550103", "Carol", 100);
  }

  id direct(const user_row& first, const user_row& second, unix_ms now = 200) {
    const auto created = transaction_.insert_conversation(
        conversation_kind::direct, std::nullopt, std::pair{first.user_id, second.user_id},
        first.user_id, now);
    transaction_.insert_member(created.conversation_id, first.user_id, now);
    transaction_.insert_member(created.conversation_id, second.user_id, now);
    return created.conversation_id;
  }

  message_row send(id conversation, id sender, std::string_view body, unix_ms at,
                   std::string_view client_id, std::optional<id> reply_to = std::nullopt) {
    return transaction_.insert_message(conversation, sender, body, at, client_id,
                                       transaction_.next_seq(conversation, at), reply_to);
  }

  std::vector<delivered_mark_moved> deliver(std::vector<delivered_mark> marks,
                                            id scan_limit = 1'000) {
    return transaction_.advance_delivered(marks, scan_limit);
  }
};
PARLEY_STORE_ENGINES(chat_test);

TEST_P(chat_test, contacts_are_listed_by_name_without_case_then_by_id) {
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "zed", 1);
  transaction_.insert_contact(alice_.user_id, carol_.user_id, "Anna", 2);
  const auto dave = transaction_.insert_user("+14155550104", "Dave", 100);
  transaction_.insert_contact(alice_.user_id, dave.user_id, "anna", 3);
  const auto list = transaction_.contacts_of(alice_.user_id);
  ASSERT_EQ(list.size(), 3U);
  EXPECT_EQ(list[0].name, "Anna");
  EXPECT_EQ(list[1].name, "anna");
  EXPECT_EQ(list[2].name, "zed");
  EXPECT_EQ(list[2].user.phone, "+14155550102");
  EXPECT_TRUE(transaction_.contacts_of(bob_.user_id).empty());
}

TEST_P(chat_test, a_contact_carries_the_direct_conversation_once_there_is_one) {
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "Bobby", 1);
  EXPECT_FALSE(transaction_.contact(alice_.user_id, bob_.user_id)->conversation_id);
  const auto conversation = direct(bob_, alice_);
  EXPECT_EQ(transaction_.contact(alice_.user_id, bob_.user_id)->conversation_id, conversation);
  EXPECT_EQ(transaction_.contacts_of(alice_.user_id)[0].conversation_id, conversation);
}

TEST_P(chat_test, contacts_are_unique_per_owner_and_never_oneself) {
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "Bob", 1);
  expect_constraint([&] { transaction_.insert_contact(alice_.user_id, bob_.user_id, "B", 2); });
  expect_constraint([&] { transaction_.insert_contact(alice_.user_id, alice_.user_id, "Me", 2); });
  transaction_.insert_contact(bob_.user_id, alice_.user_id, "Alice", 3); // the other direction
}

TEST_P(chat_test, contacts_are_renamed_and_deleted_only_by_their_owner) {
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "Bob", 1);
  EXPECT_FALSE(transaction_.update_contact_name(carol_.user_id, bob_.user_id, "Mine"));
  EXPECT_TRUE(transaction_.update_contact_name(alice_.user_id, bob_.user_id, "Robert"));
  EXPECT_EQ(transaction_.contact(alice_.user_id, bob_.user_id)->name, "Robert");
  EXPECT_FALSE(transaction_.delete_contact(carol_.user_id, bob_.user_id));
  EXPECT_TRUE(transaction_.delete_contact(alice_.user_id, bob_.user_id));
  EXPECT_FALSE(transaction_.contact(alice_.user_id, bob_.user_id));
  EXPECT_FALSE(transaction_.delete_contact(alice_.user_id, bob_.user_id));
}

TEST_P(chat_test, presence_goes_to_the_owners_of_a_contact) {
  transaction_.insert_contact(alice_.user_id, carol_.user_id, "C", 1);
  transaction_.insert_contact(bob_.user_id, carol_.user_id, "C", 1);
  EXPECT_EQ(transaction_.contact_owners_of(carol_.user_id),
            (std::vector<id>{alice_.user_id, bob_.user_id}));
  EXPECT_TRUE(transaction_.contact_owners_of(alice_.user_id).empty());
}

TEST_P(chat_test, a_pair_has_one_direct_conversation_in_either_order) {
  const auto conversation = direct(alice_, bob_);
  EXPECT_EQ(transaction_.direct_conversation(alice_.user_id, bob_.user_id), conversation);
  EXPECT_EQ(transaction_.direct_conversation(bob_.user_id, alice_.user_id), conversation);
  EXPECT_FALSE(transaction_.direct_conversation(alice_.user_id, carol_.user_id));
  expect_constraint([&] {
    transaction_.insert_conversation(conversation_kind::direct, std::nullopt,
                                     std::pair{bob_.user_id, alice_.user_id}, bob_.user_id, 300);
  });
  // Groups of the same people are distinct conversations.
  const auto first = transaction_.insert_conversation(conversation_kind::group, "G", std::nullopt,
                                                      alice_.user_id, 300);
  const auto second = transaction_.insert_conversation(conversation_kind::group, "G", std::nullopt,
                                                       alice_.user_id, 300);
  EXPECT_NE(first.conversation_id, second.conversation_id);
}

TEST_P(chat_test, a_member_joins_a_conversation_once) {
  const auto conversation = direct(alice_, bob_);
  expect_constraint([&] { transaction_.insert_member(conversation, alice_.user_id, 300); });
  EXPECT_EQ(transaction_.member_ids(conversation), (std::vector<id>{alice_.user_id, bob_.user_id}));
  EXPECT_TRUE(transaction_.membership(conversation, alice_.user_id));
  EXPECT_FALSE(transaction_.membership(conversation, carol_.user_id));
}

TEST_P(chat_test, senders_between_lists_who_sent_in_a_range_once_each) {
  const auto group =
      transaction_.insert_conversation(conversation_kind::group, "G", std::nullopt, alice_.user_id, 300);
  for (const auto& member : {alice_, bob_, carol_}) {
    transaction_.insert_member(group.conversation_id, member.user_id, 300);
  }
  const auto one = send(group.conversation_id, bob_.user_id, "1", 400, "c1");
  send(group.conversation_id, carol_.user_id, "2", 400, "c2");
  const auto three = send(group.conversation_id, bob_.user_id, "3", 400, "c3");
  const auto other = direct(alice_, bob_);
  send(other, alice_.user_id, "elsewhere", 400, "c4");
  EXPECT_EQ(transaction_.senders_between(group.conversation_id, 0, three.message_id),
            (std::vector<id>{bob_.user_id, carol_.user_id}));
  EXPECT_EQ(transaction_.senders_between(group.conversation_id, one.message_id, one.message_id),
            std::vector<id>{});
  EXPECT_EQ(transaction_.senders_between(group.conversation_id, one.message_id + 1, three.message_id),
            std::vector<id>{bob_.user_id});
  EXPECT_EQ(transaction_.senders_between(group.conversation_id, 0, 10'000),
            (std::vector<id>{bob_.user_id, carol_.user_id}));
}

TEST_P(chat_test, messages_get_increasing_ids_and_become_the_last_message) {
  const auto conversation = direct(alice_, bob_);
  const auto first = send(conversation, alice_.user_id, "hi", 1000, "a1");
  const auto second = send(conversation, bob_.user_id, "hello", 2000, "b1");
  EXPECT_GT(second.message_id, first.message_id);
  const auto found = transaction_.conversation(conversation);
  EXPECT_EQ(found->last_message_id, second.message_id);
  EXPECT_EQ(found->last_activity_at, 2000);
}

TEST_P(chat_test, a_client_id_is_unique_per_sender) {
  const auto conversation = direct(alice_, bob_);
  const auto sent = send(conversation, alice_.user_id, "hi", 1000, "same");
  expect_constraint(
      [&] { send(conversation, alice_.user_id, "other", 1001, "same"); });
  send(conversation, bob_.user_id, "hi", 1002, "same"); // another sender
  EXPECT_EQ(transaction_.message_by_client_id(alice_.user_id, "same")->message_id, sent.message_id);
  EXPECT_FALSE(transaction_.message_by_client_id(carol_.user_id, "same"));
}

TEST_P(chat_test, message_ids_are_not_reused_after_the_newest_is_deleted) {
  const auto conversation = direct(alice_, bob_);
  const auto first = send(conversation, alice_.user_id, "a", 1, "1");
  connection_->execute(fmt::format("DELETE FROM messages WHERE id = {}", first.message_id));
  const auto second = send(conversation, alice_.user_id, "b", 2, "2");
  EXPECT_GT(second.message_id, first.message_id);
}

// Ids stay a valid cursor: after the newest messages go with their conversation (a group's
// last member leaving), a send on another connection (as after a restart) still takes an id
// above them.
TEST_P(chat_test, message_ids_are_not_reused_after_a_conversations_messages_go) {
  const auto kept = direct(alice_, bob_);
  const auto gone = direct(alice_, carol_);
  ASSERT_TRUE(transaction_.append_message(kept, alice_.user_id, "a", 1, "1", std::nullopt));
  transaction_.append_message(gone, alice_.user_id, "b", 2, "2", std::nullopt);
  const auto newest = transaction_.append_message(gone, carol_.user_id, "c", 3, "3", std::nullopt);
  ASSERT_TRUE(newest);
  transaction_.delete_messages(gone);
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 1);

  const auto reconnected = store_->connect();
  const auto next =
      reconnected->transaction().append_message(kept, bob_.user_id, "d", 4, "4", std::nullopt);
  ASSERT_TRUE(next);
  EXPECT_GT(next->message.message_id, newest->message.message_id);
}

TEST_P(chat_test, history_pages_go_backwards_from_before) {
  const auto conversation = direct(alice_, bob_);
  const auto other = direct(alice_, carol_);
  std::vector<id> ids;
  for (int index = 0; index < 5; ++index) {
    ids.push_back(send(conversation, alice_.user_id, "m", index,
                                      fmt::format("c{}", index))
.message_id);
    send(other, alice_.user_id, "elsewhere", index, fmt::format("o{}", index));
  }
  auto newest = messages_before(conversation, std::nullopt, 0, 2);
  ASSERT_EQ(newest.size(), 2U);
  EXPECT_EQ(newest[0].message_id, ids[4]);
  EXPECT_EQ(newest[1].message_id, ids[3]);
  auto older = messages_before(conversation, ids[3], 0, 10);
  ASSERT_EQ(older.size(), 3U);
  EXPECT_EQ(older[2].message_id, ids[0]);
  EXPECT_TRUE(messages_before(conversation, ids[0], 0, 10).empty());
}

TEST_P(chat_test, changes_after_a_cursor_come_by_updated_seq_from_one_conversation) {
  const auto mine = direct(alice_, bob_);
  const auto theirs = direct(bob_, carol_);
  const auto a = send(mine, alice_.user_id, "1", 1, "1");
  send(theirs, bob_.user_id, "not here", 2, "2");
  const auto c = send(mine, bob_.user_id, "3", 3, "3");
  EXPECT_EQ(a.seq, 1);
  EXPECT_EQ(c.seq, 2);
  transaction_.edit_message(a.message_id, "1 again", 4, transaction_.next_seq(mine));
  auto all = transaction_.changes_after(mine, 0, 0, 10);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].message_id, c.message_id);
  EXPECT_EQ(all[1].message_id, a.message_id);
  EXPECT_EQ(all[1].updated_seq, 3);
  EXPECT_EQ(all[1].body, "1 again");
  EXPECT_EQ(transaction_.changes_after(mine, 2, 0, 10).size(), 1U);
  EXPECT_EQ(transaction_.changes_after(mine, 0, 0, 1).size(), 1U);
  EXPECT_EQ(transaction_.changes_after(mine, 0, 1, 10).size(), 1U); // sent after seq 1 only
}

TEST_P(chat_test, read_and_delivered_marks_only_move_forward) {
  const auto conversation = direct(alice_, bob_);
  EXPECT_EQ(deliver({{conversation, bob_.user_id, 5}}).size(), 1U);
  EXPECT_TRUE(deliver({{conversation, bob_.user_id, 3}}).empty());
  EXPECT_TRUE(deliver({{conversation, bob_.user_id, 5}}).empty());
  EXPECT_TRUE(transaction_.advance_read(conversation, bob_.user_id, 7));
  EXPECT_FALSE(transaction_.advance_read(conversation, bob_.user_id, 7));
  const auto member = transaction_.membership(conversation, bob_.user_id);
  EXPECT_EQ(member->last_read_id, 7);
  EXPECT_EQ(member->last_delivered_id, 7); // read implies delivered
  EXPECT_FALSE(transaction_.advance_read(conversation, carol_.user_id, 9)); // not a member
}

// Marks that move over the same range share their senders; a mark over another range of the
// same conversation, given between them, gets its own.
TEST_P(chat_test, delivered_marks_over_the_same_range_and_over_another_each_get_their_senders) {
  const auto group = transaction_.insert_conversation(conversation_kind::group, "G", std::nullopt,
                                                      alice_.user_id, 300);
  for (const auto& member : {alice_, bob_, carol_}) {
    transaction_.insert_member(group.conversation_id, member.user_id, 300);
  }
  const auto one = send(group.conversation_id, bob_.user_id, "1", 400, "c1");
  const auto two = send(group.conversation_id, carol_.user_id, "2", 400, "c2");
  ASSERT_EQ(deliver({{group.conversation_id, alice_.user_id, one.message_id}}).size(), 1U);
  const auto moved = deliver({{group.conversation_id, bob_.user_id, two.message_id},
                              {group.conversation_id, alice_.user_id, two.message_id},
                              {group.conversation_id, carol_.user_id, two.message_id}});
  ASSERT_EQ(moved.size(), 3U);
  EXPECT_EQ(moved[0].user_id, alice_.user_id);
  EXPECT_EQ(moved[0].before, one.message_id);
  EXPECT_EQ(moved[0].senders, std::vector<id>{carol_.user_id});
  for (const auto& shared : {moved[1], moved[2]}) {
    EXPECT_EQ(shared.before, 0);
    EXPECT_EQ(shared.senders, (std::vector<id>{bob_.user_id, carol_.user_id}));
  }
}

TEST_P(chat_test, delivered_marks_move_together_and_name_whose_messages_they_newly_cover) {
  const auto group = transaction_.insert_conversation(conversation_kind::group, "G", std::nullopt,
                                                      alice_.user_id, 300);
  for (const auto& member : {alice_, bob_, carol_}) {
    transaction_.insert_member(group.conversation_id, member.user_id, 300);
  }
  const auto other = direct(alice_, bob_);
  const auto one = send(group.conversation_id, bob_.user_id, "1", 400, "c1");
  const auto two = send(group.conversation_id, carol_.user_id, "2", 400, "c2");
  const auto three = send(group.conversation_id, bob_.user_id, "3", 400, "c3");
  const auto elsewhere = send(other, alice_.user_id, "o", 400, "c4");
  const auto four = send(group.conversation_id, alice_.user_id, "4", 400, "c5");

  // Given in no order, with one that is not a member: the moved ones by conversation, then user.
  auto moved = deliver({{other, bob_.user_id, elsewhere.message_id},
                        {group.conversation_id, carol_.user_id, three.message_id},
                        {other, carol_.user_id, elsewhere.message_id},
                        {group.conversation_id, alice_.user_id, two.message_id}});
  ASSERT_EQ(moved.size(), 3U);
  EXPECT_EQ(moved[0].conversation_id, group.conversation_id);
  EXPECT_EQ(moved[0].user_id, alice_.user_id);
  EXPECT_EQ(moved[0].before, 0);
  EXPECT_EQ(moved[0].senders, (std::vector<id>{bob_.user_id, carol_.user_id}));
  EXPECT_EQ(moved[1].user_id, carol_.user_id);
  EXPECT_EQ(moved[1].senders, (std::vector<id>{bob_.user_id, carol_.user_id}));
  EXPECT_EQ(moved[2].conversation_id, other);
  EXPECT_EQ(moved[2].user_id, bob_.user_id);
  EXPECT_EQ(moved[2].senders, std::vector<id>{alice_.user_id});

  // Only forward; a range past the scan limit leaves the senders to the caller.
  moved = deliver({{group.conversation_id, carol_.user_id, four.message_id},
                   {group.conversation_id, alice_.user_id, one.message_id},
                   {group.conversation_id, bob_.user_id, four.message_id}},
                  four.message_id - 1);
  ASSERT_EQ(moved.size(), 2U);
  EXPECT_EQ(moved[0].user_id, bob_.user_id);
  EXPECT_EQ(moved[0].before, 0);
  EXPECT_FALSE(moved[0].senders);
  EXPECT_EQ(moved[1].user_id, carol_.user_id);
  EXPECT_EQ(moved[1].before, three.message_id);
  EXPECT_EQ(moved[1].senders, std::vector<id>{alice_.user_id});

  // An up_to that is not one of the conversation's messages still finds who sent up to it.
  moved = deliver({{other, alice_.user_id, four.message_id}});
  ASSERT_EQ(moved.size(), 1U);
  EXPECT_EQ(moved[0].senders, std::vector<id>{alice_.user_id});

  EXPECT_TRUE(deliver({}).empty());
  EXPECT_EQ(transaction_.membership(group.conversation_id, alice_.user_id)->last_delivered_id,
            two.message_id);
  EXPECT_EQ(transaction_.membership(group.conversation_id, bob_.user_id)->last_delivered_id,
            four.message_id);
  EXPECT_EQ(transaction_.membership(group.conversation_id, carol_.user_id)->last_delivered_id,
            four.message_id);
  EXPECT_EQ(transaction_.membership(other, alice_.user_id)->last_delivered_id, four.message_id);
  EXPECT_FALSE(transaction_.membership(other, carol_.user_id));
}

TEST_P(chat_test, the_list_shows_recent_activity_first_with_unread_counts) {
  const auto quiet = direct(alice_, bob_, 100);
  const auto group = transaction_.insert_conversation(conversation_kind::group, "Trip",
                                                      std::nullopt, bob_.user_id, 150);
  for (const auto& member : {alice_, bob_, carol_}) {
    transaction_.insert_member(group.conversation_id, member.user_id, 150);
  }
  send(group.conversation_id, bob_.user_id, "one", 300, "1");
  const auto two = send(group.conversation_id, carol_.user_id, "two", 400, "2");
  send(group.conversation_id, alice_.user_id, "mine", 500, "3");
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "Bobby", 1);

  const auto list = transaction_.conversations_of(alice_.user_id);
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].conversation.conversation_id, group.conversation_id);
  EXPECT_EQ(list[0].conversation.title, "Trip");
  EXPECT_EQ(list[0].members.size(), 3U);
  EXPECT_EQ(list[0].last_message->body, "mine");
  EXPECT_EQ(list[0].unread_count, 2); // others' messages; her own never count
  EXPECT_EQ(list[1].conversation.conversation_id, quiet);
  EXPECT_FALSE(list[1].last_message);
  EXPECT_EQ(list[1].nickname, "Bobby");

  transaction_.advance_read(group.conversation_id, alice_.user_id, two.message_id);
  EXPECT_EQ(transaction_.summary(group.conversation_id, alice_.user_id)->unread_count, 0);
  EXPECT_FALSE(transaction_.summary(quiet, carol_.user_id));
}

// After a change every member gets the conversation as they see it: read at once (members
// once), each one's view is what their own summary says.
TEST_P(chat_test, every_members_view_read_at_once_is_each_ones_own_summary) {
  const auto dave = transaction_.insert_user("+14155550104", "Dave", 100);
  const auto group = transaction_.insert_conversation(conversation_kind::group, "Trip",
                                                      std::nullopt, bob_.user_id, 150);
  const id conversation = group.conversation_id;
  for (const auto& member : {alice_, bob_, carol_}) {
    transaction_.insert_member(conversation, member.user_id, 150);
  }
  send(conversation, bob_.user_id, "one", 300, "1");
  const auto two = send(conversation, carol_.user_id, "two", 400, "2");
  transaction_.advance_read(conversation, alice_.user_id, two.message_id);
  transaction_.insert_member(conversation, dave.user_id, 450, two.seq); // after both messages
  EXPECT_TRUE(transaction_.set_muted(conversation, carol_.user_id, 5000));

  const auto views = transaction_.views_of_members(conversation);
  ASSERT_TRUE(views);
  EXPECT_EQ(views->shared.members.size(), 4U);
  EXPECT_EQ(views->shared.last_message->body, "two");
  std::vector<id> viewers;
  for (const auto& part : views->viewers) {
    viewers.push_back(part.viewer);
    const auto own = transaction_.summary(conversation, part.viewer);
    ASSERT_TRUE(own);
    const auto seen = viewing(views->shared, part);
    EXPECT_EQ(seen.unread_count, own->unread_count) << part.viewer;
    EXPECT_EQ(seen.last_message.has_value(), own->last_message.has_value()) << part.viewer;
    EXPECT_EQ(seen.muted_until, own->muted_until) << part.viewer;
    EXPECT_EQ(seen.nickname, own->nickname) << part.viewer;
    EXPECT_EQ(seen.members.size(), own->members.size()) << part.viewer;
  }
  EXPECT_EQ(viewers, transaction_.member_ids(conversation));
  auto part_of = [&](const user_row& user) {
    return *std::ranges::find(views->viewers, user.user_id, &viewer_part::viewer);
  };
  EXPECT_EQ(part_of(alice_).unread_count, 0); // read up to "two"
  EXPECT_EQ(part_of(bob_).unread_count, 1);   // "two"; his own never counts
  EXPECT_EQ(part_of(carol_).unread_count, 1); // "one"
  EXPECT_EQ(part_of(carol_).muted_until, 5000);
  EXPECT_FALSE(part_of(dave).sees_last_message); // it came before he joined
  EXPECT_EQ(part_of(dave).unread_count, 0);

  // A direct conversation: each side's title comes from their own nickname for the other.
  const auto quiet = direct(alice_, bob_, 100);
  transaction_.insert_contact(alice_.user_id, bob_.user_id, "Bobby", 1);
  const auto pair = transaction_.views_of_members(quiet);
  ASSERT_TRUE(pair);
  ASSERT_EQ(pair->viewers.size(), 2U);
  EXPECT_EQ(pair->viewers[0].nickname, "Bobby");
  EXPECT_FALSE(pair->viewers[1].nickname);
  EXPECT_FALSE(transaction_.views_of_members(conversation + quiet + 100));
}

TEST_P(chat_test, an_empty_direct_conversation_shows_only_to_its_creator) {
  const auto conversation = direct(alice_, bob_);
  EXPECT_EQ(transaction_.conversations_of(alice_.user_id).size(), 1U);
  EXPECT_TRUE(transaction_.conversations_of(bob_.user_id).empty());
  send(conversation, alice_.user_id, "hi", 300, "1");
  EXPECT_EQ(transaction_.conversations_of(bob_.user_id).size(), 1U);
}

// Every chat query uses an index for each table it touches: no full scans as data grows.
TEST_P(chat_test, every_query_is_served_by_an_index) {
  for (const char* sql : chat_sql::all) {
    const auto details = connection_->plan(sql);
    EXPECT_FALSE(connection_->scans_whole(details)) << sql << "\n" << details;
  }
  for (const char* sql : upload_sql::all) {
    const auto details = connection_->plan(sql);
    EXPECT_FALSE(connection_->scans_whole(details)) << sql << "\n" << details;
  }
  if (GetParam() == conformance::engine::sqlite) {
    for (const char* sql : chat_sql::sqlite_only) {
      const auto details = connection_->plan(sql);
      EXPECT_FALSE(connection_->scans_whole(details)) << sql << "\n" << details;
    }
  }
  if (GetParam() == conformance::engine::postgres) { // its own statements, with arrays
    const auto with_arrays = [](std::string sql) {
      for (const auto* parameter : {"?1", "?2", "?3"}) {
        for (auto at = sql.find(parameter); at != std::string::npos; at = sql.find(parameter)) {
          sql.replace(at, 2, "'{1,2}'");
        }
      }
      return sql;
    };
    for (const auto& text :
         {with_arrays(chat_sql::advance_delivered_marks), with_arrays(chat_sql::lock_conversations),
          std::string(chat_sql::append_message_with_members)}) {
      const auto details = connection_->plan(text);
      EXPECT_FALSE(connection_->scans_whole(details)) << text << "\n" << details;
    }
  }
}

} // namespace
} // namespace parley::store
