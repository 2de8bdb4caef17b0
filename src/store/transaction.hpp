#pragma once
// The store's row-level operations, as seen from inside one transaction. Domain code (auth,
// later chat) is written against these interfaces and runs on a store thread inside a job
// (see database.hpp); SQLite implements them now, PostgreSQL later. Every call may throw
// (a storage failure), which fails the whole job.

#include "store/rows.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace parley::store {

class read_transaction {
public:
  virtual ~read_transaction() = default;

  [[nodiscard]] virtual std::optional<user_row> user_by_id(id user_id) = 0;
  [[nodiscard]] virtual std::optional<user_row> user_by_phone(std::string_view phone) = 0;
  [[nodiscard]] virtual std::optional<session_row>
  session_by_token_hash(std::span<const unsigned char> token_hash) = 0;
  [[nodiscard]] virtual std::optional<login_code_row> login_code(std::string_view phone) = 0;
  /// A named server-wide secret (e.g. the key for hashing codes and tokens).
  [[nodiscard]] virtual std::optional<bytes> server_secret(std::string_view name) = 0;
};

class write_transaction : public read_transaction {
public:
  /// Inserts a user; throws when the phone is taken (callers look it up first).
  virtual user_row insert_user(std::string_view phone, std::string_view name, unix_ms now) = 0;
  virtual void update_user_name(id user_id, std::string_view name) = 0;

  virtual id insert_session(std::span<const unsigned char> token_hash, id user_id, unix_ms now) = 0;
  virtual void touch_session(id session_id, unix_ms now) = 0;
  virtual void revoke_session(id session_id, unix_ms now) = 0;

  /// Replaces any code for the same phone.
  virtual void put_login_code(const login_code_row& code) = 0;
  virtual void set_login_code_attempts(std::string_view phone, int attempts) = 0;
  virtual void delete_login_code(std::string_view phone) = 0;
  /// Deletes codes that expired before `now`; returns how many.
  virtual int delete_expired_login_codes(unix_ms now) = 0;

  virtual void put_server_secret(std::string_view name, std::span<const unsigned char> value) = 0;
};

} // namespace parley::store
