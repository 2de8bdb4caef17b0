#include "auth/auth_service.hpp"

#include "store/sqlite_database.hpp"
#include "support/run_coroutine.hpp"
#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

namespace parley::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::run_coroutine;

// The SMS seam's test twin: records what would be sent; answers as told.
class recording_sender final : public sms::sender {
public:
  explicit recording_sender(bool provider_checks) : provider_checks_(provider_checks) {}

  bool provider_checks_codes() const override { return provider_checks_; }
  std::string name() const override { return "recording"; }

  boost::asio::awaitable<std::expected<void, sms::sms_error>>
  send_code(sms::code_request request) override {
    std::lock_guard lock(mutex_);
    if (fail_next_send_) {
      fail_next_send_ = false;
      co_return std::unexpected(sms::sms_error{"The 'To' number is not a valid phone number.", 400, 21211});
    }
    sent_.push_back(std::move(request));
    co_return std::expected<void, sms::sms_error>{};
  }

  boost::asio::awaitable<std::expected<sms::check_outcome, sms::sms_error>>
  check_code(std::string phone, std::string code) override {
    std::lock_guard lock(mutex_);
    checked_.emplace_back(std::move(phone), std::move(code));
    const auto outcome = next_check_.empty() ? sms::check_outcome::wrong_code : next_check_.front();
    if (!next_check_.empty()) {
      next_check_.pop_front();
    }
    co_return outcome;
  }

  std::string last_code() {
    std::lock_guard lock(mutex_);
    return sent_.empty() ? std::string() : sent_.back().code;
  }
  std::size_t sent_count() {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }
  sms::code_request last_request() {
    std::lock_guard lock(mutex_);
    return sent_.back();
  }
  void fail_next_send() {
    std::lock_guard lock(mutex_);
    fail_next_send_ = true;
  }
  void answer_next_check(sms::check_outcome outcome) {
    std::lock_guard lock(mutex_);
    next_check_.push_back(outcome);
  }
  std::size_t check_count() {
    std::lock_guard lock(mutex_);
    return checked_.size();
  }

private:
  bool provider_checks_;
  std::mutex mutex_;
  std::vector<sms::code_request> sent_;
  std::vector<std::pair<std::string, std::string>> checked_;
  std::deque<sms::check_outcome> next_check_;
  bool fail_next_send_ = false;
};

constexpr const char* k_phone = "+14155550123";
constexpr const char* k_address = "192.0.2.1";

class auth_service_test : public ::testing::Test {
protected:
  explicit auth_service_test(bool provider_checks = false) : sender_(provider_checks) {}

  testing::temporary_directory directory_;
  store::sqlite_database database_{{directory_.file("parley.db"), 1}};
  manual_clock clock_;
  recording_sender sender_;
  policy rules_;
  std::unique_ptr<auth_service> service_;

  void SetUp() override { service_ = std::make_unique<auth_service>(rules_, database_, sender_, clock_); }

  std::expected<code_sent, error> request(std::string phone = k_phone,
                                          std::string address = k_address) {
    return run_coroutine(service_->request_code(std::move(phone), std::move(address)));
  }
  std::expected<signed_in, error> verify(std::string code,
                                         std::optional<std::string> name = std::nullopt,
                                         std::string phone = k_phone) {
    return run_coroutine(service_->verify(std::move(phone), std::move(code), std::move(name)));
  }
  std::string wrong_code() { return sender_.last_code() == "000000" ? "000001" : "000000"; }
};

TEST_F(auth_service_test, a_requested_code_is_sent_to_the_normalised_number) {
  const auto sent = request("(415) 555-0123");
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(sent->phone, k_phone);
  EXPECT_EQ(sent->expires_in, seconds(600));
  EXPECT_EQ(sent->resend_in, seconds(30));
  const auto message = sender_.last_request();
  EXPECT_EQ(message.phone, k_phone);
  EXPECT_EQ(message.code.size(), 6U);
  EXPECT_NE(message.body.find(message.code), std::string::npos);
}

TEST_F(auth_service_test, only_a_keyed_hash_of_the_code_is_stored) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  auto lookup = [](store::read_transaction& transaction) { return transaction.login_code(k_phone); };
  const auto row = run_coroutine(database_.read(std::move(lookup)));
  ASSERT_TRUE(row && row->code_hash);
  EXPECT_EQ(row->code_hash->size(), 32U);
  const std::string stored(row->code_hash->begin(), row->code_hash->end());
  EXPECT_EQ(stored.find(code), std::string::npos);
}

TEST_F(auth_service_test, an_invalid_phone_is_refused_without_sending) {
  const auto sent = request("not a number");
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, error_code::invalid_phone);
  EXPECT_EQ(sender_.sent_count(), 0U);
}

TEST_F(auth_service_test, the_right_code_creates_the_account_and_a_session) {
  ASSERT_TRUE(request());
  const auto result = verify(sender_.last_code(), "Alice");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->created);
  EXPECT_EQ(result->user.name, "Alice");
  EXPECT_EQ(result->user.phone, k_phone);
  const auto who = run_coroutine(service_->authenticate(result->token));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->user.user_id, result->user.user_id);
}

TEST_F(auth_service_test, a_code_works_only_once) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  ASSERT_TRUE(verify(code, "Alice"));
  const auto again = verify(code, "Alice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, error_code::code_expired);
}

TEST_F(auth_service_test, an_existing_account_signs_in_without_a_name) {
  ASSERT_TRUE(request());
  const auto first = verify(sender_.last_code(), "Alice");
  ASSERT_TRUE(first);
  clock_.advance(seconds(30));
  ASSERT_TRUE(request());
  const auto second = verify(sender_.last_code());
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->user.user_id, first->user.user_id);
  EXPECT_EQ(second->user.name, "Alice"); // a name given at sign-in does not rename
}

TEST_F(auth_service_test, a_new_number_without_a_name_keeps_its_code_valid) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  const auto refused = verify(code);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::name_required);
  EXPECT_TRUE(verify(code, "Alice"));
}

TEST_F(auth_service_test, wrong_codes_count_down_then_burn_the_code) {
  ASSERT_TRUE(request());
  const auto right = sender_.last_code();
  for (int left = 4; left >= 0; --left) {
    const auto wrong = verify(wrong_code(), "Alice");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, error_code::invalid_code);
    EXPECT_EQ(wrong.error().attempts_left, left);
  }
  const auto burnt = verify(right, "Alice");
  ASSERT_FALSE(burnt);
  EXPECT_EQ(burnt.error().code, error_code::too_many_attempts);
  ASSERT_TRUE(burnt.error().retry_after);
  EXPECT_GE(burnt.error().retry_after->count(), 1);
}

TEST_F(auth_service_test, a_code_expires_after_ten_minutes) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  clock_.advance(minutes(10));
  const auto late = verify(code, "Alice");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, error_code::code_expired);
}

TEST_F(auth_service_test, a_code_is_still_valid_just_before_it_expires) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  clock_.advance(minutes(10) - std::chrono::milliseconds(1));
  EXPECT_TRUE(verify(code, "Alice"));
}

TEST_F(auth_service_test, a_new_code_replaces_the_old_one) {
  ASSERT_TRUE(request());
  const auto old_code = sender_.last_code();
  clock_.advance(seconds(30));
  ASSERT_TRUE(request());
  const auto new_code = sender_.last_code();
  if (old_code != new_code) {
    const auto stale = verify(old_code, "Alice");
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, error_code::invalid_code);
  }
  EXPECT_TRUE(verify(new_code, "Alice"));
}

TEST_F(auth_service_test, one_code_per_phone_per_resend_interval) {
  ASSERT_TRUE(request());
  clock_.advance(seconds(10));
  const auto early = request();
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, error_code::rate_limited);
  EXPECT_EQ(early.error().retry_after, seconds(20));
  EXPECT_EQ(sender_.sent_count(), 1U);
  clock_.advance(seconds(20));
  EXPECT_TRUE(request());
}

TEST_F(auth_service_test, at_most_five_codes_per_phone_per_hour) {
  for (int index = 0; index < 5; ++index) {
    ASSERT_TRUE(request()) << index;
    clock_.advance(seconds(30));
  }
  const auto sixth = request();
  ASSERT_FALSE(sixth);
  EXPECT_EQ(sixth.error().code, error_code::rate_limited);
  // The first code of the hour was sent 150 s ago: it leaves the window in 3450 s.
  EXPECT_EQ(sixth.error().retry_after, seconds(3450));
}

TEST_F(auth_service_test, a_client_address_is_capped_across_phones) {
  rules_.codes_per_address_per_hour = 3;
  service_ = std::make_unique<auth_service>(rules_, database_, sender_, clock_);
  for (int index = 0; index < 3; ++index) {
    ASSERT_TRUE(request("+1415555010" + std::to_string(index)));
  }
  const auto fourth = request("+14155550109");
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code, error_code::rate_limited);
  EXPECT_TRUE(request("+14155550109", "198.51.100.7")); // another address is not affected
}

TEST_F(auth_service_test, a_failed_sms_keeps_the_earlier_code) {
  ASSERT_TRUE(request());
  const auto first = sender_.last_code();
  clock_.advance(seconds(30));
  sender_.fail_next_send();
  const auto failed = request();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, error_code::sms_failed);
  EXPECT_EQ(failed.error().message, "The 'To' number is not a valid phone number.");
  EXPECT_TRUE(verify(first, "Alice"));
}

TEST_F(auth_service_test, a_failed_sms_does_not_hold_back_the_next_request) {
  sender_.fail_next_send();
  ASSERT_FALSE(request());
  EXPECT_TRUE(request()); // neither the resend interval nor the hourly cap was charged
}

TEST_F(auth_service_test, names_are_validated_and_trimmed) {
  ASSERT_TRUE(request());
  const auto code = sender_.last_code();
  for (const std::string& bad : std::vector<std::string>{"", "   ", std::string(65, 'x'), "a\nb", "\xC3",
                                                               "evil\xE2\x80\xAEgnp.exe"}) {
    const auto refused = verify(code, bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, error_code::invalid_name) << bad;
  }
  const auto accepted = verify(code, "  " + std::string(64, 'x') + "  ");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->user.name, std::string(64, 'x'));
}

TEST_F(auth_service_test, logout_revokes_the_session_and_tells_listeners) {
  ASSERT_TRUE(request());
  const auto result = verify(sender_.last_code(), "Alice");
  ASSERT_TRUE(result);
  const auto who = run_coroutine(service_->authenticate(result->token));
  ASSERT_TRUE(who);
  store::id revoked = 0;
  service_->on_session_revoked([&revoked](store::id session_id) { revoked = session_id; });
  run_coroutine(service_->logout(*who));
  EXPECT_EQ(revoked, who->session_id);
  EXPECT_FALSE(run_coroutine(service_->authenticate(result->token)));
}

TEST_F(auth_service_test, an_unused_session_ends_after_the_idle_timeout) {
  ASSERT_TRUE(request());
  const auto result = verify(sender_.last_code(), "Alice");
  ASSERT_TRUE(result);
  clock_.advance(std::chrono::hours(24 * 30) - seconds(1));
  EXPECT_TRUE(run_coroutine(service_->authenticate(result->token))); // use renews it
  clock_.advance(std::chrono::hours(24 * 30) - seconds(1));
  EXPECT_TRUE(run_coroutine(service_->authenticate(result->token)));
  clock_.advance(std::chrono::hours(24 * 30));
  EXPECT_FALSE(run_coroutine(service_->authenticate(result->token)));
}

TEST_F(auth_service_test, unknown_and_malformed_tokens_are_refused) {
  EXPECT_FALSE(run_coroutine(service_->authenticate("")));
  EXPECT_FALSE(run_coroutine(service_->authenticate("nope")));
  EXPECT_FALSE(run_coroutine(service_->authenticate(std::string(5000, 'a'))));
}

TEST_F(auth_service_test, updating_the_profile_validates_and_stores_it) {
  ASSERT_TRUE(request());
  const auto result = verify(sender_.last_code(), "Alice");
  const auto who = run_coroutine(service_->authenticate(result->token));
  EXPECT_TRUE(who->user.notification_previews); // on by default
  const auto renamed = run_coroutine(service_->update_profile(*who, " Alice Liddell ", {}));
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->name, "Alice Liddell");
  EXPECT_TRUE(renamed->notification_previews);
  EXPECT_EQ(run_coroutine(service_->authenticate(result->token))->user.name, "Alice Liddell");
  const auto refused = run_coroutine(service_->update_profile(*who, "", false));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::invalid_name);
  EXPECT_TRUE(run_coroutine(service_->authenticate(result->token))->user.notification_previews);

  const auto quiet = run_coroutine(service_->update_profile(*who, {}, false));
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->name, "Alice Liddell");
  EXPECT_FALSE(quiet->notification_previews);
  EXPECT_FALSE(run_coroutine(service_->authenticate(result->token))->user.notification_previews);
}

TEST_F(auth_service_test, the_hashing_key_survives_a_restart) {
  ASSERT_TRUE(request());
  const auto result = verify(sender_.last_code(), "Alice");
  ASSERT_TRUE(result);
  service_ = std::make_unique<auth_service>(rules_, database_, sender_, clock_);
  EXPECT_TRUE(run_coroutine(service_->authenticate(result->token)));
}

TEST_F(auth_service_test, expired_codes_are_purged) {
  ASSERT_TRUE(request());
  clock_.advance(minutes(11));
  EXPECT_EQ(run_coroutine(service_->purge_expired_codes()), 1);
}

// Twilio Verify: the provider keeps and checks the codes.
class provider_checks_test : public auth_service_test {
protected:
  provider_checks_test() : auth_service_test(true) {}
};

TEST_F(provider_checks_test, no_code_is_generated_or_stored) {
  ASSERT_TRUE(request());
  EXPECT_EQ(sender_.last_code(), "");
  auto lookup = [](store::read_transaction& transaction) { return transaction.login_code(k_phone); };
  const auto row = run_coroutine(database_.read(std::move(lookup)));
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->code_hash);
}

TEST_F(provider_checks_test, an_approved_check_signs_in) {
  ASSERT_TRUE(request());
  sender_.answer_next_check(sms::check_outcome::approved);
  const auto result = verify("123456", "Alice");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->created);
}

TEST_F(provider_checks_test, a_wrong_code_counts_locally_too) {
  ASSERT_TRUE(request());
  const auto wrong = verify("111111", "Alice");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, error_code::invalid_code);
  EXPECT_EQ(wrong.error().attempts_left, 4);
}

TEST_F(provider_checks_test, the_local_limit_stops_checks_before_the_provider) {
  ASSERT_TRUE(request());
  for (int index = 0; index < 5; ++index) {
    ASSERT_FALSE(verify("111111", "Alice"));
  }
  const auto checks = sender_.check_count();
  const auto refused = verify("123456", "Alice");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::too_many_attempts);
  EXPECT_EQ(sender_.check_count(), checks);
}

TEST_F(provider_checks_test, the_provider_saying_expired_or_too_many_is_passed_on) {
  ASSERT_TRUE(request());
  sender_.answer_next_check(sms::check_outcome::expired);
  auto refused = verify("123456", "Alice");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::code_expired);

  clock_.advance(seconds(30));
  ASSERT_TRUE(request());
  sender_.answer_next_check(sms::check_outcome::too_many_attempts);
  refused = verify("123456", "Alice");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::too_many_attempts);
}

TEST_F(provider_checks_test, a_new_number_without_a_name_is_refused_before_checking) {
  ASSERT_TRUE(request());
  const auto refused = verify("123456");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::name_required);
  EXPECT_EQ(sender_.check_count(), 0U);
}

} // namespace
} // namespace parley::auth
