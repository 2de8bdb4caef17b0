#include "auth/auth_service.hpp"

#include "auth/phone.hpp"
#include "common/log.hpp"
#include "common/text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley::auth {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view k_key_name = "auth_hash_key";
constexpr std::size_t k_max_name_characters = 64;

error make_error(error_code code, std::string message) {
  return error{code, std::move(message), std::nullopt, std::nullopt};
}

std::string wait_sentence(seconds wait) {
  return wait.count() == 1 ? std::string("1 second") : fmt::format("{} seconds", wait.count());
}

// Outcome of the store step of a verification, before any answer is built.
enum class check_state { missing, expired, exhausted, wrong, right, name_required };

struct check_result {
  check_state state = check_state::missing;
  int attempts_left = 0;
  std::optional<signed_in> session;
};

} // namespace

std::string_view to_string(error_code code) {
  switch (code) {
  case error_code::invalid_phone:
    return "invalid_phone";
  case error_code::invalid_name:
    return "invalid_name";
  case error_code::invalid_code:
    return "invalid_code";
  case error_code::code_expired:
    return "code_expired";
  case error_code::too_many_attempts:
    return "too_many_attempts";
  case error_code::name_required:
    return "name_required";
  case error_code::rate_limited:
    return "rate_limited";
  case error_code::sms_failed:
    return "sms_failed";
  case error_code::unauthorized:
    return "unauthorized";
  case error_code::user_not_found:
    return "user_not_found";
  }
  return "unknown";
}

std::expected<std::string, error> validate_name(std::string_view name) {
  if (!text::is_valid_utf8(name)) {
    return std::unexpected(make_error(error_code::invalid_name, "The name is not valid UTF-8."));
  }
  const auto trimmed = text::trim(name);
  if (trimmed.empty()) {
    return std::unexpected(make_error(error_code::invalid_name, "The name must not be empty."));
  }
  if (text::has_control_characters(trimmed)) {
    return std::unexpected(
        make_error(error_code::invalid_name, "The name must not contain control characters."));
  }
  if (text::has_bidi_controls(trimmed)) {
    return std::unexpected(make_error(
        error_code::invalid_name, "The name must not contain text-direction override characters."));
  }
  if (text::code_point_count(trimmed) > k_max_name_characters) {
    return std::unexpected(make_error(
        error_code::invalid_name,
        fmt::format("The name must be at most {} characters long.", k_max_name_characters)));
  }
  return std::string(trimmed);
}

auth_service::auth_service(policy rules, store::database& database, sms::sender& sender,
                           const parley::clock& clock)
    : rules_(std::move(rules)), database_(database), sender_(sender), clock_(clock),
      resend_limiter_(1, duration_cast<milliseconds>(rules_.code_resend_interval)),
      phone_limiter_(static_cast<std::size_t>(rules_.codes_per_phone_per_hour), std::chrono::hours(1)),
      address_limiter_(static_cast<std::size_t>(rules_.codes_per_address_per_hour),
                       std::chrono::hours(1)) {
  crypto::initialize();
  const auto stored = store::blocking_write(database_, [](store::write_transaction& transaction) {
    const auto existing = transaction.server_secret(k_key_name);
    if (existing && existing->size() == crypto::k_key_bytes) {
      return *existing;
    }
    const auto fresh = crypto::random_key();
    if (existing) { // the wrong size: replaced
      transaction.put_server_secret(k_key_name, fresh);
      return store::bytes(fresh.begin(), fresh.end());
    }
    // Several nodes may start at once on a new database: all take the first one's key, so
    // that a token issued by one is valid on every node.
    return transaction.keep_server_secret(k_key_name, fresh);
  });
  std::copy(stored.begin(), stored.end(), key_.begin());
}

crypto::digest auth_service::hash_code(std::string_view phone, std::string_view code) const {
  return crypto::keyed_hash(key_, "login-code", fmt::format("{}:{}", phone, code));
}

crypto::digest auth_service::hash_token(std::string_view token) const {
  return crypto::keyed_hash(key_, "session-token", token);
}

boost::asio::awaitable<std::expected<code_sent, error>>
auth_service::request_code(std::string raw_phone, std::string client_address) {
  auto phone = normalize_phone(raw_phone, rules_.default_region);
  if (!phone) {
    co_return std::unexpected(make_error(error_code::invalid_phone, std::string(describe(phone.error()))));
  }
  const unix_ms now = clock_.now_ms();

  // Every limit is checked before any is charged, so a refused request costs nothing.
  std::optional<milliseconds> wait;
  std::string_view reason;
  const auto consider = [&](std::optional<milliseconds> candidate, std::string_view why) {
    if (candidate && (!wait || *candidate > *wait)) {
      wait = candidate;
      reason = why;
    }
  };
  consider(address_limiter_.wait_time(client_address, now), "Too many codes were requested from this address.");
  consider(phone_limiter_.wait_time(*phone, now), "Too many codes were sent to this number.");
  consider(resend_limiter_.wait_time(*phone, now), "A code was just sent to this number.");
  if (wait) {
    const auto retry = retry_after_seconds(*wait);
    spdlog::info("auth.code_limited phone={} address={} retry_after={}", *phone, client_address,
                 retry.count());
    auto refusal = make_error(error_code::rate_limited,
                              fmt::format("{} Try again in {}.", reason, wait_sentence(retry)));
    refusal.retry_after = retry;
    co_return std::unexpected(std::move(refusal));
  }
  address_limiter_.record(client_address, now);
  phone_limiter_.record(*phone, now);
  resend_limiter_.record(*phone, now);

  const bool provider_keeps_code = sender_.provider_checks_codes();
  const std::string code = provider_keeps_code ? std::string() : crypto::random_code(6);
  const auto minutes = std::max<std::int64_t>(1, rules_.code_ttl.count() / 60);
  sms::code_request request{*phone, code,
                            fmt::format("Your Parley code is {}. It expires in {} minute{}.", code,
                                        minutes, minutes == 1 ? "" : "s")};
  // Send first: if the provider refuses, the earlier code (if any) stays as it was.
  auto sent = co_await sender_.send_code(std::move(request));
  if (!sent) {
    // Nothing reached the phone: the number may ask again at once. The client address keeps
    // the charge, so failed sends cannot be used to probe numbers without limit.
    phone_limiter_.forget(*phone, now);
    resend_limiter_.forget(*phone, now);
    spdlog::warn("auth.sms_failed phone={} sender={} status={} reason={}", *phone, sender_.name(),
                 sent.error().provider_status, log::quoted(sent.error().message));
    co_return std::unexpected(make_error(
        error_code::sms_failed, sent.error().message.empty() ? "The SMS could not be sent."
                                                             : sent.error().message));
  }

  store::login_code_row row;
  row.phone = *phone;
  if (!provider_keeps_code) {
    row.code_hash = hash_code(*phone, code);
  }
  row.created_at = now;
  row.expires_at = now + duration_cast<milliseconds>(rules_.code_ttl).count();
  row.attempts = 0;
  auto store_code = [row](store::write_transaction& transaction) {
    transaction.put_login_code(row);
    return true;
  };
  co_await database_.write(std::move(store_code));
  spdlog::info("auth.code_sent phone={} sender={}", *phone, sender_.name());
  co_return code_sent{*phone, rules_.code_ttl, rules_.code_resend_interval};
}

boost::asio::awaitable<std::expected<signed_in, error>>
auth_service::verify(std::string raw_phone, std::string code, std::optional<std::string> name) {
  auto phone = normalize_phone(raw_phone, rules_.default_region);
  if (!phone) {
    co_return std::unexpected(make_error(error_code::invalid_phone, std::string(describe(phone.error()))));
  }
  if (name) {
    auto valid = validate_name(*name);
    if (!valid) {
      co_return std::unexpected(valid.error());
    }
    name = std::move(*valid);
  }
  const std::string trimmed_code(text::trim(code));
  const bool provider_keeps_code = sender_.provider_checks_codes();
  const int max_attempts = rules_.code_max_attempts;
  const unix_ms now = clock_.now_ms();
  std::string token = crypto::random_token();
  const auto token_hash = hash_token(token);

  // Signs the person in: consumes the code, creates the user if needed, opens a session.
  const auto sign_in = [phone = *phone, name, token, token_hash, now](
                           store::write_transaction& transaction) -> std::optional<signed_in> {
    auto user = transaction.user_by_phone(phone);
    bool created = false;
    if (!user) {
      if (!name) {
        return std::nullopt;
      }
      user = transaction.insert_user(phone, *name, now);
      created = true;
    }
    transaction.delete_login_code(phone);
    transaction.insert_session(token_hash, user->user_id, now);
    return signed_in{token, *user, created};
  };

  check_result result;
  if (!provider_keeps_code) {
    const auto code_hash = hash_code(*phone, trimmed_code);
    auto check = [&, phone = *phone](store::write_transaction& transaction) {
      check_result outcome;
      auto row = transaction.login_code(phone);
      if (!row || !row->code_hash) {
        outcome.state = check_state::missing;
      } else if (row->expires_at <= now) {
        transaction.delete_login_code(phone);
        outcome.state = check_state::expired;
      } else if (row->attempts >= max_attempts) {
        outcome.state = check_state::exhausted;
      } else if (!crypto::equal(*row->code_hash, code_hash)) {
        transaction.set_login_code_attempts(phone, row->attempts + 1);
        outcome.state = check_state::wrong;
        outcome.attempts_left = max_attempts - row->attempts - 1;
      } else if (auto session = sign_in(transaction)) {
        outcome.state = check_state::right;
        outcome.session = std::move(session);
      } else {
        outcome.state = check_state::name_required; // the code stays valid
      }
      return outcome;
    };
    result = co_await database_.write(std::move(check));
  } else {
    // The provider keeps the code. Checking it there uses it up, so everything that can be
    // refused without the provider is refused first, and the try is counted before the call
    // so that parallel guesses cannot exceed the limit.
    auto reserve = [&, phone = *phone](store::write_transaction& transaction) {
      check_result outcome;
      auto row = transaction.login_code(phone);
      if (!row) {
        outcome.state = check_state::missing;
      } else if (row->expires_at <= now) {
        transaction.delete_login_code(phone);
        outcome.state = check_state::expired;
      } else if (row->attempts >= max_attempts) {
        outcome.state = check_state::exhausted;
      } else if (!name && !transaction.user_by_phone(phone)) {
        outcome.state = check_state::name_required;
      } else {
        transaction.set_login_code_attempts(phone, row->attempts + 1);
        outcome.state = check_state::wrong; // until the provider says otherwise
        outcome.attempts_left = max_attempts - row->attempts - 1;
      }
      return outcome;
    };
    result = co_await database_.write(std::move(reserve));
    if (result.state == check_state::wrong) {
      auto checked = co_await sender_.check_code(*phone, trimmed_code);
      if (!checked) {
        spdlog::warn("auth.sms_check_failed phone={} status={} reason={}", *phone,
                     checked.error().provider_status, log::quoted(checked.error().message));
        co_return std::unexpected(make_error(error_code::sms_failed, checked.error().message));
      }
      const auto outcome = *checked;
      auto finish = [&, phone = *phone](store::write_transaction& transaction) {
        check_result finished = result;
        switch (outcome) {
        case sms::check_outcome::approved:
          if (auto session = sign_in(transaction)) {
            finished.state = check_state::right;
            finished.session = std::move(session);
          } else {
            finished.state = check_state::name_required;
          }
          break;
        case sms::check_outcome::wrong_code:
          break;
        case sms::check_outcome::expired:
          transaction.delete_login_code(phone);
          finished.state = check_state::expired;
          break;
        case sms::check_outcome::too_many_attempts:
          transaction.set_login_code_attempts(phone, max_attempts);
          finished.state = check_state::exhausted;
          break;
        }
        return finished;
      };
      result = co_await database_.write(std::move(finish));
    }
  }

  switch (result.state) {
  case check_state::right:
    spdlog::info("auth.signed_in user={} created={}", result.session->user.user_id,
                 result.session->created);
    co_return std::move(*result.session);
  case check_state::name_required:
    co_return std::unexpected(make_error(
        error_code::name_required, "This number has no account yet: give a name to create one."));
  case check_state::missing:
  case check_state::expired:
    co_return std::unexpected(make_error(
        error_code::code_expired, "The code has expired or was never sent: request a new one."));
  case check_state::exhausted: {
    auto refusal = make_error(error_code::too_many_attempts,
                              "Too many wrong codes: this code no longer works. Request a new one.");
    refusal.retry_after = retry_after_seconds(
        resend_limiter_.wait_time(*phone, now).value_or(milliseconds(0)));
    co_return std::unexpected(std::move(refusal));
  }
  case check_state::wrong: {
    auto refusal = make_error(
        error_code::invalid_code,
        result.attempts_left == 0
            ? std::string("Wrong code. No tries are left: request a new code.")
            : fmt::format("Wrong code. {} {} left.", result.attempts_left,
                          result.attempts_left == 1 ? "try" : "tries"));
    refusal.attempts_left = result.attempts_left;
    co_return std::unexpected(std::move(refusal));
  }
  }
  co_return std::unexpected(make_error(error_code::invalid_code, "Wrong code."));
}

std::optional<auth_service::lookup_key> auth_service::key_for(std::string_view token) const {
  if (token.empty() || token.size() > 256) {
    return std::nullopt;
  }
  return lookup_key{hash_token(token), clock_.now_ms(),
                    duration_cast<milliseconds>(rules_.session_idle_timeout).count()};
}

std::optional<auth_service::session_found>
auth_service::find_session(store::read_transaction& transaction, const lookup_key& key) {
  auto found = transaction.session_by_token_hash(key.token_hash);
  if (!found) {
    return std::nullopt;
  }
  const auto& session = found->session;
  if (session.revoked_at || session.last_seen_at + key.idle_ms <= key.now) {
    return std::nullopt;
  }
  return session_found{identity{session.session_id, std::move(found->user)}, session.last_seen_at};
}

void auth_service::touch_if_due(const session_found& session, unix_ms now,
                                const boost::asio::any_io_executor& executor) {
  const auto touch_ms = duration_cast<milliseconds>(rules_.session_touch_interval).count();
  if (session.last_seen_at + touch_ms <= now) {
    // Recording the use must not delay the request: it goes to the writer on its own.
    boost::asio::co_spawn(executor,
                          touch_session(session.who.session_id, now),
                          [](std::exception_ptr failure) {
                            if (failure) {
                              spdlog::warn("auth.touch_failed");
                            }
                          });
  }
}

boost::asio::awaitable<std::optional<identity>> auth_service::authenticate(std::string token) {
  auto found = co_await authenticate_and_read(
      std::move(token), [](store::read_transaction&, const identity&) { return true; });
  if (!found) {
    co_return std::nullopt;
  }
  co_return std::move(found->first);
}

boost::asio::awaitable<void> auth_service::touch_session(store::id session_id, unix_ms now) {
  auto touch = [session_id, now](store::write_transaction& transaction) {
    transaction.touch_session(session_id, now);
    return true;
  };
  co_await database_.write(std::move(touch));
}

boost::asio::awaitable<void> auth_service::logout(identity who) {
  const unix_ms now = clock_.now_ms();
  auto revoke = [session_id = who.session_id, now](store::write_transaction& transaction) {
    transaction.revoke_session(session_id, now);
    return true;
  };
  co_await database_.write(std::move(revoke));
  std::vector<std::function<void(store::id)>> listeners;
  {
    std::lock_guard lock(listeners_mutex_);
    listeners = revoked_listeners_;
  }
  for (const auto& listener : listeners) {
    listener(who.session_id);
  }
  spdlog::info("auth.logged_out user={} session={}", who.user.user_id, who.session_id);
}

boost::asio::awaitable<std::expected<store::user_row, error>>
auth_service::update_profile(identity who, std::optional<std::string> name,
                             std::optional<bool> notification_previews) {
  if (name) {
    auto valid = validate_name(*name);
    if (!valid) {
      co_return std::unexpected(valid.error());
    }
    name = std::move(*valid);
  }
  auto update = [user = who.user, name = std::move(name),
                 notification_previews](store::write_transaction& transaction) mutable {
    if (name) {
      transaction.update_user_name(user.user_id, *name);
    }
    if (notification_previews) {
      transaction.set_notification_previews(user.user_id, *notification_previews);
    }
    // As stored now: the identity's copy dates from its session's last check.
    return transaction.user_by_id(user.user_id).value_or(user);
  };
  co_return co_await database_.write(std::move(update));
}

void auth_service::on_session_revoked(std::function<void(store::id)> listener) {
  std::lock_guard lock(listeners_mutex_);
  revoked_listeners_.push_back(std::move(listener));
}

boost::asio::awaitable<int> auth_service::purge_expired_codes() {
  const unix_ms now = clock_.now_ms();
  auto purge = [now](store::write_transaction& transaction) {
    return transaction.delete_expired_login_codes(now);
  };
  co_return co_await database_.write(std::move(purge));
}

std::vector<std::expected<account, error>>
auth_service::add_accounts(const std::vector<account_entry>& entries, bool open_sessions) {
  constexpr std::size_t k_batch = 5000;
  std::vector<std::expected<account, error>> results;
  results.reserve(entries.size());
  // Validation and token hashing happen here; only the writes go to the writer thread.
  struct prepared {
    std::string phone;
    std::string name;
    std::string token;
    crypto::digest token_hash{};
  };
  for (std::size_t start = 0; start < entries.size(); start += k_batch) {
    const std::size_t end = std::min(entries.size(), start + k_batch);
    std::vector<prepared> batch;
    std::vector<std::size_t> slots; // index into results of each batch entry
    for (std::size_t index = start; index < end; ++index) {
      const auto& entry = entries[index];
      auto phone = normalize_phone(entry.phone, rules_.default_region);
      if (!phone) {
        results.emplace_back(std::unexpected(
            make_error(error_code::invalid_phone, std::string(describe(phone.error())))));
        continue;
      }
      auto name = validate_name(entry.name);
      if (!name) {
        results.emplace_back(std::unexpected(name.error()));
        continue;
      }
      prepared item{std::move(*phone), std::move(*name), {}, {}};
      if (open_sessions) {
        item.token = crypto::random_token();
        item.token_hash = hash_token(item.token);
      }
      slots.push_back(results.size());
      results.emplace_back(account{});
      batch.push_back(std::move(item));
    }
    const unix_ms now = clock_.now_ms();
    auto added = store::blocking_write(
        database_, [&batch, open_sessions, now](store::write_transaction& transaction) {
          std::vector<account> accounts;
          accounts.reserve(batch.size());
          for (const auto& item : batch) {
            account outcome;
            if (auto existing = transaction.user_by_phone(item.phone)) {
              outcome.user = *existing;
            } else {
              outcome.user = transaction.insert_user(item.phone, item.name, now);
              outcome.created = true;
            }
            if (open_sessions) {
              transaction.insert_session(item.token_hash, outcome.user.user_id, now);
              outcome.token = item.token;
            }
            accounts.push_back(std::move(outcome));
          }
          return accounts;
        });
    for (std::size_t index = 0; index < added.size(); ++index) {
      results[slots[index]] = std::move(added[index]);
    }
  }
  return results;
}

std::expected<account, error> auth_service::issue_token(std::string_view raw_phone) {
  auto phone = normalize_phone(raw_phone, rules_.default_region);
  if (!phone) {
    return std::unexpected(make_error(error_code::invalid_phone, std::string(describe(phone.error()))));
  }
  account outcome;
  outcome.token = crypto::random_token();
  const auto token_hash = hash_token(outcome.token);
  const unix_ms now = clock_.now_ms();
  auto user = store::blocking_write(
      database_, [&phone, &token_hash, now](store::write_transaction& transaction) {
        auto found = transaction.user_by_phone(*phone);
        if (found) {
          transaction.insert_session(token_hash, found->user_id, now);
        }
        return found;
      });
  if (!user) {
    return std::unexpected(
        make_error(error_code::user_not_found, fmt::format("No account has the number {}.", *phone)));
  }
  outcome.user = std::move(*user);
  return outcome;
}

} // namespace parley::auth
