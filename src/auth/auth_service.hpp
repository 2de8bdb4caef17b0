#pragma once
// Sign-in by SMS code, sessions and the signed-in user's profile: the domain rules of the
// contract's "Sign-in by SMS code", independent of HTTP. Every call is a coroutine meant to
// be awaited on an I/O thread: storage runs on the store's threads and SMS calls on the
// sender's executor, and the caller is resumed on its own executor.
//
// Thread-safety: all members may be called concurrently from any I/O thread.

#include "auth/crypto.hpp"
#include "auth/limiter.hpp"
#include "common/clock.hpp"
#include "sms/sender.hpp"
#include "store/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <expected>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace parley::auth {

enum class error_code {
  invalid_phone,
  invalid_name,
  invalid_code,
  code_expired,
  too_many_attempts,
  name_required,
  rate_limited,
  sms_failed,
  unauthorized,
  user_not_found, ///< Operator commands only: no account has this number.
};

/// The contract's snake_case name of `code` ("invalid_phone", …).
[[nodiscard]] std::string_view to_string(error_code code);

struct error {
  error_code code;
  std::string message;                       ///< A human sentence.
  std::optional<int> attempts_left;          ///< For invalid_code.
  std::optional<std::chrono::seconds> retry_after; ///< For rate_limited and too_many_attempts.
};

struct policy {
  std::string default_region = "US";
  std::chrono::seconds code_ttl{600};
  std::chrono::seconds code_resend_interval{30};
  int code_max_attempts = 5;
  int codes_per_phone_per_hour = 5;
  int codes_per_address_per_hour = 50;
  std::chrono::seconds session_idle_timeout{30 * 24 * 3600};
  /// A session's last use is written at most this often.
  std::chrono::seconds session_touch_interval{3600};
};

struct code_sent {
  std::string phone; ///< E.164
  std::chrono::seconds expires_in;
  std::chrono::seconds resend_in;
};

struct signed_in {
  std::string token; ///< Shown once; only its keyed hash is stored.
  store::user_row user;
  bool created = false;
};

/// An account an operator adds without an SMS code (`parley users add`, `parley users import`).
struct account_entry {
  std::string phone; ///< Any accepted format; normalised to E.164.
  std::string name;
};

/// The outcome for one account_entry, or of `issue_token`.
struct account {
  store::user_row user;
  bool created = false; ///< False when the number already had an account (its name is kept).
  std::string token;    ///< The new session's token, when one was asked for; else empty.
};

/// A valid session and its user.
struct identity {
  store::id session_id = 0;
  store::user_row user;
};

class auth_service {
public:
  /// `database` and `sender` must outlive the service. Reads or creates the hashing key in
  /// the database (blocking: call at start-up, not on an I/O thread).
  auth_service(policy rules, store::database& database, sms::sender& sender,
               const parley::clock& clock);

  /// POST /auth/code: normalises `phone`, applies the limits, sends a fresh code (replacing
  /// any earlier one) and stores its keyed hash.
  boost::asio::awaitable<std::expected<code_sent, error>> request_code(std::string phone,
                                                                       std::string client_address);

  /// POST /auth/verify: checks the code; on success consumes it, creates the user when the
  /// number has no account (then `name` is required) and opens a session.
  boost::asio::awaitable<std::expected<signed_in, error>>
  verify(std::string phone, std::string code, std::optional<std::string> name);

  /// The session for a token, if it is valid (not revoked, used within the idle timeout).
  boost::asio::awaitable<std::optional<identity>> authenticate(std::string token);

  /// authenticate, then `job(transaction, who)` in the same read transaction: one trip to the
  /// store's readers instead of two. nullopt when the session is not valid (the job does not
  /// run). `job` must be a read job of the store (no I/O, no waiting).
  template <class Job>
  boost::asio::awaitable<std::optional<
      std::pair<identity, std::invoke_result_t<const Job&, store::read_transaction&, const identity&>>>>
  authenticate_and_read(std::string token, Job job);

  /// Revokes the session and tells the listeners (real-time layer: close its sockets).
  boost::asio::awaitable<void> logout(identity who);

  /// PATCH /me: the name and/or whether push notifications show message text, in one change.
  boost::asio::awaitable<std::expected<store::user_row, error>>
  update_profile(identity who, std::optional<std::string> name,
                 std::optional<bool> notification_previews);

  /// Operator commands: act on the database directly and block until committed, so call them
  /// from the command line's thread, never on an I/O thread. Each entry is validated like
  /// sign-in (phone, name); a number that already has an account keeps it. With
  /// `open_sessions`, a session is opened for every valid entry and its token returned.
  /// Entries are written in transactions of up to 5,000.
  std::vector<std::expected<account, error>> add_accounts(const std::vector<account_entry>& entries,
                                                          bool open_sessions);

  /// Opens a session for the account of `phone` (blocking, as above): `parley tokens issue`.
  /// `user_not_found` when the number has no account.
  std::expected<account, error> issue_token(std::string_view phone);

  /// Called (on the caller's thread) after a session is revoked.
  void on_session_revoked(std::function<void(store::id session_id)> listener);

  /// Deletes expired codes; returns how many. For a periodic maintenance task.
  boost::asio::awaitable<int> purge_expired_codes();

  [[nodiscard]] const policy& rules() const { return rules_; }

private:
  /// What a token's lookup needs: its keyed hash, and now. nullopt: no token could match.
  struct lookup_key {
    crypto::digest token_hash;
    unix_ms now = 0;
    unix_ms idle_ms = 0;
  };
  struct session_found {
    identity who;
    unix_ms last_seen_at = 0;
  };
  [[nodiscard]] std::optional<lookup_key> key_for(std::string_view token) const;
  /// The key's session if it is valid: not revoked, used within the idle timeout (on a reader).
  [[nodiscard]] static std::optional<session_found>
  find_session(store::read_transaction& transaction, const lookup_key& key);
  /// Records a found session's use when it is due, on `executor`, without making the caller
  /// wait for it.
  void touch_if_due(const session_found& session, unix_ms now,
                    const boost::asio::any_io_executor& executor);
  boost::asio::awaitable<void> touch_session(store::id session_id, unix_ms now);
  [[nodiscard]] crypto::digest hash_code(std::string_view phone, std::string_view code) const;
  [[nodiscard]] crypto::digest hash_token(std::string_view token) const;

  policy rules_;
  store::database& database_;
  sms::sender& sender_;
  const parley::clock& clock_;
  crypto::key key_{};
  sliding_window_limiter resend_limiter_;
  sliding_window_limiter phone_limiter_;
  sliding_window_limiter address_limiter_;
  std::mutex listeners_mutex_;
  std::vector<std::function<void(store::id)>> revoked_listeners_; // guarded by listeners_mutex_
};

template <class Job>
boost::asio::awaitable<std::optional<
    std::pair<identity, std::invoke_result_t<const Job&, store::read_transaction&, const identity&>>>>
auth_service::authenticate_and_read(std::string token, Job job) {
  using result = std::invoke_result_t<const Job&, store::read_transaction&, const identity&>;
  struct found {
    session_found session;
    result answer;
  };
  const auto key = key_for(token);
  if (!key) {
    co_return std::nullopt;
  }
  auto both = [key = *key, job = std::move(job)](
                  store::read_transaction& transaction) -> std::optional<found> {
    auto session = find_session(transaction, key);
    if (!session) {
      return std::nullopt;
    }
    auto answer = job(transaction, std::as_const(session->who));
    return found{std::move(*session), std::move(answer)};
  };
  auto outcome = co_await database_.read(std::move(both));
  if (!outcome) {
    co_return std::nullopt;
  }
  touch_if_due(outcome->session, key->now, co_await boost::asio::this_coro::executor);
  co_return std::pair{std::move(outcome->session.who), std::move(outcome->answer)};
}

/// Validates a display name: valid UTF-8, no control characters, 1–64 characters after
/// trimming. Returns the trimmed name.
[[nodiscard]] std::expected<std::string, error> validate_name(std::string_view name);

} // namespace parley::auth
