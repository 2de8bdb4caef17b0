#include "store/engines.hpp"

#include <gtest/gtest.h>

namespace parley::store {
namespace {

class transaction_test : public conformance::store_test {};
PARLEY_STORE_ENGINES(transaction_test);

TEST_P(transaction_test, users_are_found_by_id_and_by_phone) {
  const auto alice = transaction_.insert_user("+14155550123", "Alice", 100);
  EXPECT_GT(alice.user_id, 0);
  EXPECT_EQ(transaction_.user_by_id(alice.user_id)->phone, "+14155550123");
  EXPECT_EQ(transaction_.user_by_phone("+14155550123")->user_id, alice.user_id);
  EXPECT_FALSE(transaction_.user_by_phone("+14155550199"));
  EXPECT_FALSE(transaction_.user_by_id(alice.user_id + 1));
}

TEST_P(transaction_test, a_phone_number_belongs_to_one_user) {
  transaction_.insert_user("+14155550123", "Alice", 100);
  expect_constraint([&] { transaction_.insert_user("+14155550123", "Mallory", 100); });
}

TEST_P(transaction_test, renaming_a_user_changes_only_the_name) {
  const auto alice = transaction_.insert_user("+14155550123", "Alice", 100);
  transaction_.update_user_name(alice.user_id, "Alice B");
  const auto found = transaction_.user_by_id(alice.user_id);
  EXPECT_EQ(found->name, "Alice B");
  EXPECT_EQ(found->phone, "+14155550123");
}

TEST_P(transaction_test, sessions_are_found_by_hash_touched_and_revoked) {
  const auto alice = transaction_.insert_user("+14155550123", "Alice", 100);
  const std::vector<unsigned char> hash{1, 2, 3, 4};
  const auto session_id = transaction_.insert_session(hash, alice.user_id, 200);
  auto found = transaction_.session_by_token_hash(hash);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->session.session_id, session_id);
  EXPECT_EQ(found->session.token_hash, hash);
  EXPECT_EQ(found->session.user_id, alice.user_id);
  EXPECT_EQ(found->session.created_at, 200);
  EXPECT_EQ(found->session.last_seen_at, 200);
  EXPECT_FALSE(found->session.revoked_at);
  EXPECT_EQ(found->user.user_id, alice.user_id) << "its user, read with it";
  EXPECT_EQ(found->user.phone, "+14155550123");
  EXPECT_EQ(found->user.name, "Alice");

  transaction_.touch_session(session_id, 500);
  transaction_.touch_session(session_id, 300); // never moves backwards
  EXPECT_EQ(transaction_.session_by_token_hash(hash)->session.last_seen_at, 500);

  transaction_.revoke_session(session_id, 600);
  transaction_.revoke_session(session_id, 700); // the first revocation time stays
  EXPECT_EQ(transaction_.session_by_token_hash(hash)->session.revoked_at, 600);
  EXPECT_FALSE(transaction_.session_by_token_hash(std::vector<unsigned char>{9}));
}

TEST_P(transaction_test, a_token_hash_is_unique) {
  const auto alice = transaction_.insert_user("+14155550123", "Alice", 100);
  const std::vector<unsigned char> hash{7, 7};
  transaction_.insert_session(hash, alice.user_id, 1);
  expect_constraint([&] { transaction_.insert_session(hash, alice.user_id, 2); });
}

TEST_P(transaction_test, a_new_login_code_replaces_the_old_one) {
  login_code_row first{"+14155550123", std::vector<unsigned char>{1}, 100, 700, 3};
  transaction_.put_login_code(first);
  login_code_row second{"+14155550123", std::vector<unsigned char>{2}, 200, 800, 0};
  transaction_.put_login_code(second);
  const auto found = transaction_.login_code("+14155550123");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found->code_hash, std::vector<unsigned char>{2});
  EXPECT_EQ(found->attempts, 0);
  EXPECT_EQ(found->expires_at, 800);
}

TEST_P(transaction_test, a_login_code_kept_by_the_provider_has_no_hash) {
  transaction_.put_login_code({"+14155550123", std::nullopt, 100, 700, 0});
  EXPECT_FALSE(transaction_.login_code("+14155550123")->code_hash);
}

TEST_P(transaction_test, login_code_attempts_and_deletion) {
  transaction_.put_login_code({"+14155550123", std::vector<unsigned char>{1}, 100, 700, 0});
  transaction_.set_login_code_attempts("+14155550123", 4);
  EXPECT_EQ(transaction_.login_code("+14155550123")->attempts, 4);
  transaction_.delete_login_code("+14155550123");
  EXPECT_FALSE(transaction_.login_code("+14155550123"));
}

TEST_P(transaction_test, expired_login_codes_are_purged) {
  transaction_.put_login_code({"+14155550001", std::nullopt, 0, 100, 0});
  transaction_.put_login_code({"+14155550002", std::nullopt, 0, 300, 0});
  EXPECT_EQ(transaction_.delete_expired_login_codes(200), 1);
  EXPECT_FALSE(transaction_.login_code("+14155550001"));
  EXPECT_TRUE(transaction_.login_code("+14155550002"));
}

TEST_P(transaction_test, server_secrets_are_stored_and_replaced) {
  EXPECT_FALSE(transaction_.server_secret("key"));
  transaction_.put_server_secret("key", std::vector<unsigned char>{1, 2});
  transaction_.put_server_secret("key", std::vector<unsigned char>{3});
  EXPECT_EQ(*transaction_.server_secret("key"), std::vector<unsigned char>{3});
}

// Two connections (as two nodes starting at once) keep a secret under one name: both get the
// one that was stored first, whichever committed first.
TEST_P(transaction_test, a_kept_secret_is_the_first_one_stored) {
  const std::vector<unsigned char> first{1, 1};
  const std::vector<unsigned char> second{2, 2};
  EXPECT_EQ(transaction_.keep_server_secret("cluster", first), first);
  const auto other = store_->connect();
  EXPECT_EQ(other->transaction().keep_server_secret("cluster", second), first);
  EXPECT_EQ(*transaction_.server_secret("cluster"), first);
}

TEST_P(transaction_test, lookups_use_indexes) {
  // Every lookup of the sign-in path is an index search, never a table scan.
  for (const char* query : {"SELECT * FROM users WHERE phone = ?1",
                            "SELECT * FROM sessions WHERE token_hash = ?1",
                            "SELECT * FROM login_codes WHERE phone = ?1",
                            "DELETE FROM login_codes WHERE expires_at < ?1"}) {
    const auto details = connection_->plan(query);
    EXPECT_FALSE(connection_->scans_whole(details)) << query << "\n" << details;
  }
}

} // namespace
} // namespace parley::store
