#pragma once
// SQLite implementation of the transaction interfaces. Internal to the store.

#include "store/sqlite.hpp"
#include "store/transaction.hpp"

namespace parley::store {

class sqlite_write_transaction final : public write_transaction {
public:
  explicit sqlite_write_transaction(sqlite::connection& db) : db_(db) {}

  std::optional<user_row> user_by_id(id user_id) override;
  std::optional<user_row> user_by_phone(std::string_view phone) override;
  std::optional<session_row> session_by_token_hash(std::span<const unsigned char> token_hash) override;
  std::optional<login_code_row> login_code(std::string_view phone) override;
  std::optional<bytes> server_secret(std::string_view name) override;

  user_row insert_user(std::string_view phone, std::string_view name, unix_ms now) override;
  void update_user_name(id user_id, std::string_view name) override;
  id insert_session(std::span<const unsigned char> token_hash, id user_id, unix_ms now) override;
  void touch_session(id session_id, unix_ms now) override;
  void revoke_session(id session_id, unix_ms now) override;
  void put_login_code(const login_code_row& code) override;
  void set_login_code_attempts(std::string_view phone, int attempts) override;
  void delete_login_code(std::string_view phone) override;
  int delete_expired_login_codes(unix_ms now) override;
  void put_server_secret(std::string_view name, std::span<const unsigned char> value) override;

private:
  sqlite::connection& db_;
};

/// Reads use the same queries; a reader connection simply never calls the write half.
using sqlite_read_transaction = sqlite_write_transaction;

} // namespace parley::store
