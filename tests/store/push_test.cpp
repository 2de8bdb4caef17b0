// Notifications in the store, on both engines: push subscriptions (one per endpoint, moved to
// whoever subscribes it last, a limit per user, gone with their session), who a new message
// pushes to with the title and sender name each of them sees, mutes and previews.

#include "store/engines.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::store {
namespace {

bytes point(unsigned char fill) { return bytes(65, fill); }
bytes secret(unsigned char fill) { return bytes(16, fill); }

class push_test : public conformance::store_test {
protected:
  user_row alice_, bob_, carol_;
  id alice_session_ = 0, bob_session_ = 0, bob_other_session_ = 0, carol_session_ = 0;
  id chat_ = 0, group_ = 0;

  void SetUp() override {
    store_test::SetUp();
    alice_ = transaction_.insert_user("+14155550101", "Alice", 100);
    bob_ = transaction_.insert_user("+14155550102", "Bob", 100);
    carol_ = transaction_.insert_user("+14155550103", "Carol", 100);
    alice_session_ = transaction_.insert_session(bytes{1}, alice_.user_id, 100);
    bob_session_ = transaction_.insert_session(bytes{2}, bob_.user_id, 100);
    bob_other_session_ = transaction_.insert_session(bytes{3}, bob_.user_id, 100);
    carol_session_ = transaction_.insert_session(bytes{4}, carol_.user_id, 100);
    chat_ = transaction_
                .insert_conversation(conversation_kind::direct, std::nullopt,
                                     std::pair{alice_.user_id, bob_.user_id}, alice_.user_id, 100)
                .conversation_id;
    transaction_.insert_member(chat_, alice_.user_id, 100);
    transaction_.insert_member(chat_, bob_.user_id, 100);
    group_ = transaction_
                 .insert_conversation(conversation_kind::group, "Climbing", std::nullopt,
                                      alice_.user_id, 100)
                 .conversation_id;
    for (const auto& member : {alice_, bob_, carol_}) {
      transaction_.insert_member(group_, member.user_id, 100);
    }
  }

  subscription_outcome subscribe(const user_row& user, id session, const std::string& endpoint,
                                 unsigned char fill = 7, std::size_t limit = 20) {
    return transaction_.put_push_subscription(user.user_id, session, endpoint, point(fill),
                                              secret(fill), 200, limit);
  }

  std::vector<std::string> endpoints(id conversation, const user_row& sender) {
    std::vector<std::string> found;
    for (const auto& target : transaction_.push_targets(conversation, sender.user_id)) {
      found.push_back(target.subscription.endpoint);
    }
    return found;
  }
};
PARLEY_STORE_ENGINES(push_test);

TEST_P(push_test, a_new_message_pushes_to_every_subscription_of_the_other_members) {
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/bob-laptop", 1),
            subscription_outcome::created);
  EXPECT_EQ(subscribe(bob_, bob_other_session_, "https://push.example/bob-phone", 2),
            subscription_outcome::created);
  EXPECT_EQ(subscribe(carol_, carol_session_, "https://push.example/carol"),
            subscription_outcome::created);
  EXPECT_EQ(subscribe(alice_, alice_session_, "https://push.example/alice"),
            subscription_outcome::created);

  const auto targets = transaction_.push_targets(chat_, alice_.user_id);
  ASSERT_EQ(targets.size(), 2U); // not Carol (not a member), not Alice (the sender)
  EXPECT_EQ(targets[0].subscription.user_id, bob_.user_id);
  EXPECT_EQ(targets[0].subscription.endpoint, "https://push.example/bob-laptop");
  EXPECT_EQ(targets[0].subscription.p256dh, point(1));
  EXPECT_EQ(targets[0].subscription.auth, secret(1));
  EXPECT_EQ(targets[1].subscription.endpoint, "https://push.example/bob-phone");
  EXPECT_EQ(targets[1].subscription.p256dh, point(2));
  EXPECT_NE(targets[0].subscription.subscription_id, targets[1].subscription.subscription_id);
  for (const auto& target : targets) {
    EXPECT_TRUE(target.previews);
    EXPECT_FALSE(target.muted_until);
    EXPECT_EQ(target.title, "Alice");       // a direct conversation is named after the other…
    EXPECT_EQ(target.sender_name, "Alice"); // …who sent it
  }
  EXPECT_EQ(endpoints(group_, bob_),
            (std::vector<std::string>{"https://push.example/alice", "https://push.example/carol"}));
}

TEST_P(push_test, the_title_and_sender_are_as_each_member_sees_them) {
  subscribe(bob_, bob_session_, "https://push.example/bob");
  subscribe(carol_, carol_session_, "https://push.example/carol");
  transaction_.insert_contact(bob_.user_id, alice_.user_id, "Mum", 100);

  const auto direct = transaction_.push_targets(chat_, alice_.user_id);
  ASSERT_EQ(direct.size(), 1U);
  EXPECT_EQ(direct[0].title, "Mum");
  EXPECT_EQ(direct[0].sender_name, "Mum");

  const auto group = transaction_.push_targets(group_, alice_.user_id);
  ASSERT_EQ(group.size(), 2U);
  EXPECT_EQ(group[0].title, "Climbing");
  EXPECT_EQ(group[0].sender_name, "Mum");  // Bob's name for her
  EXPECT_EQ(group[1].title, "Climbing");
  EXPECT_EQ(group[1].sender_name, "Alice"); // Carol has no name of her own for her
}

TEST_P(push_test, subscribing_again_is_existing_and_replaces_the_keys) {
  subscribe(bob_, bob_session_, "https://push.example/bob", 1);
  EXPECT_EQ(subscribe(bob_, bob_other_session_, "https://push.example/bob", 2),
            subscription_outcome::existing);
  const auto targets = transaction_.push_targets(chat_, alice_.user_id);
  ASSERT_EQ(targets.size(), 1U);
  EXPECT_EQ(targets[0].subscription.p256dh, point(2));
  EXPECT_EQ(targets[0].subscription.auth, secret(2));
  // It now belongs to the second session: logging the first out leaves it.
  transaction_.revoke_session(bob_session_, 300);
  EXPECT_EQ(endpoints(chat_, alice_), std::vector<std::string>{"https://push.example/bob"});
}

TEST_P(push_test, an_endpoint_subscribed_by_another_user_moves_to_them) {
  subscribe(bob_, bob_session_, "https://push.example/shared-browser");
  EXPECT_EQ(subscribe(carol_, carol_session_, "https://push.example/shared-browser"),
            subscription_outcome::created);
  EXPECT_TRUE(transaction_.push_targets(chat_, alice_.user_id).empty()); // not Bob's any more
  const auto group = transaction_.push_targets(group_, alice_.user_id);
  ASSERT_EQ(group.size(), 1U);
  EXPECT_EQ(group[0].subscription.user_id, carol_.user_id);
  EXPECT_FALSE(transaction_.delete_push_subscription(bob_.user_id,
                                                     "https://push.example/shared-browser"));
}

TEST_P(push_test, a_user_holds_at_most_the_limit) {
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/1", 1, 2),
            subscription_outcome::created);
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/2", 1, 2),
            subscription_outcome::created);
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/3", 1, 2),
            subscription_outcome::too_many);
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/2", 3, 2), // renewing one is fine
            subscription_outcome::existing);
  EXPECT_EQ(endpoints(chat_, alice_),
            (std::vector<std::string>{"https://push.example/1", "https://push.example/2"}));
  // Taking one over from someone else counts too.
  subscribe(carol_, carol_session_, "https://push.example/carol");
  EXPECT_EQ(subscribe(bob_, bob_session_, "https://push.example/carol", 1, 2),
            subscription_outcome::too_many);
  EXPECT_EQ(endpoints(group_, alice_).size(), 3U);
}

TEST_P(push_test, unsubscribing_drop_and_logout_remove_subscriptions) {
  subscribe(bob_, bob_session_, "https://push.example/laptop");
  subscribe(bob_, bob_other_session_, "https://push.example/phone");
  subscribe(carol_, carol_session_, "https://push.example/carol");

  EXPECT_FALSE(transaction_.delete_push_subscription(bob_.user_id, "https://push.example/carol"));
  EXPECT_TRUE(transaction_.delete_push_subscription(bob_.user_id, "https://push.example/laptop"));
  EXPECT_FALSE(transaction_.delete_push_subscription(bob_.user_id, "https://push.example/laptop"));
  EXPECT_EQ(endpoints(chat_, alice_), std::vector<std::string>{"https://push.example/phone"});

  const auto carol = transaction_.push_targets(group_, alice_.user_id);
  ASSERT_EQ(carol.size(), 2U);
  transaction_.drop_push_subscription(carol[1].subscription.subscription_id);
  EXPECT_EQ(endpoints(group_, alice_), std::vector<std::string>{"https://push.example/phone"});

  transaction_.revoke_session(bob_other_session_, 300);
  EXPECT_TRUE(transaction_.push_targets(chat_, alice_.user_id).empty());
}

TEST_P(push_test, a_mute_is_per_member_and_shows_in_their_conversation_objects) {
  subscribe(bob_, bob_session_, "https://push.example/bob");
  subscribe(carol_, carol_session_, "https://push.example/carol");
  EXPECT_TRUE(transaction_.set_muted(group_, bob_.user_id, 5000));
  EXPECT_FALSE(transaction_.set_muted(chat_, carol_.user_id, 5000)); // not a member

  const auto targets = transaction_.push_targets(group_, alice_.user_id);
  ASSERT_EQ(targets.size(), 2U);
  EXPECT_EQ(targets[0].muted_until, 5000);
  EXPECT_FALSE(targets[1].muted_until);
  EXPECT_EQ(transaction_.summary(group_, bob_.user_id)->muted_until, 5000);
  EXPECT_FALSE(transaction_.summary(group_, carol_.user_id)->muted_until);
  EXPECT_EQ(transaction_.membership(group_, bob_.user_id)->muted_until, 5000);
  for (const auto& listed : transaction_.conversations_of(bob_.user_id)) {
    if (listed.conversation.conversation_id == group_) {
      EXPECT_EQ(listed.muted_until, 5000);
    } else {
      EXPECT_FALSE(listed.muted_until);
    }
  }

  EXPECT_TRUE(transaction_.set_muted(group_, bob_.user_id, std::nullopt));
  EXPECT_FALSE(transaction_.summary(group_, bob_.user_id)->muted_until);
  EXPECT_FALSE(transaction_.push_targets(group_, alice_.user_id)[0].muted_until);
}

TEST_P(push_test, previews_are_on_until_turned_off) {
  subscribe(bob_, bob_session_, "https://push.example/bob");
  EXPECT_TRUE(transaction_.user_by_id(bob_.user_id)->notification_previews);
  transaction_.set_notification_previews(bob_.user_id, false);
  EXPECT_FALSE(transaction_.user_by_id(bob_.user_id)->notification_previews);
  EXPECT_FALSE(transaction_.push_targets(chat_, alice_.user_id)[0].previews);
  EXPECT_TRUE(transaction_.user_by_id(alice_.user_id)->notification_previews);
  transaction_.set_notification_previews(bob_.user_id, true);
  EXPECT_TRUE(transaction_.push_targets(chat_, alice_.user_id)[0].previews);
}

} // namespace
} // namespace parley::store
