#pragma once
// The users, sessions, codes and secrets half of sql_transaction. Included by each engine's
// transaction translation unit. Internal to the store.

#include "store/push_queries.hpp"
#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"

namespace parley::store {

using sql_rows::read_user;
using sql_rows::returned_integer;
using sql_rows::single_row;

template <class Connection>
std::optional<user_row> sql_transaction<Connection>::user_by_id(id user_id) {
  auto& statement = cached("SELECT " PARLEY_USER_COLUMNS " FROM users WHERE id = ?1");
  statement.bind(1, user_id);
  return single_row(statement, read_user);
}

template <class Connection>
std::optional<user_row> sql_transaction<Connection>::user_by_phone(std::string_view phone) {
  auto& statement = cached("SELECT " PARLEY_USER_COLUMNS " FROM users WHERE phone = ?1");
  statement.bind(1, phone);
  return single_row(statement, read_user);
}

template <class Connection>
std::optional<session_with_user>
sql_transaction<Connection>::session_by_token_hash(std::span<const unsigned char> token_hash) {
  auto& statement = cached("SELECT " PARLEY_U_USER_COLUMNS ", s.id, s.token_hash, "
                           "s.created_at, s.last_seen_at, s.revoked_at FROM sessions s "
                           "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1");
  statement.bind_blob(1, token_hash);
  return single_row(statement, [](const auto& row) {
    constexpr int next = sql_rows::user_columns;
    auto user = read_user(row);
    session_row session{row.integer(next),     row.blob(next + 1),
                        user.user_id,          row.integer(next + 2),
                        row.integer(next + 3), row.optional_integer(next + 4)};
    return session_with_user{std::move(session), std::move(user)};
  });
}

template <class Connection>
std::optional<login_code_row> sql_transaction<Connection>::login_code(std::string_view phone) {
  auto& statement = cached("SELECT phone, code_hash, created_at, expires_at, attempts "
                           "FROM login_codes WHERE phone = ?1");
  statement.bind(1, phone);
  return single_row(statement, [](const auto& row) {
    login_code_row code;
    code.phone = row.text(0);
    if (!row.is_null(1)) {
      code.code_hash = row.blob(1);
    }
    code.created_at = row.integer(2);
    code.expires_at = row.integer(3);
    code.attempts = static_cast<int>(row.integer(4));
    return code;
  });
}

template <class Connection>
std::optional<bytes> sql_transaction<Connection>::server_secret(std::string_view name) {
  auto& statement = cached("SELECT value FROM server_secrets WHERE name = ?1");
  statement.bind(1, name);
  return single_row(statement, [](const auto& row) { return row.blob(0); });
}

template <class Connection>
user_row sql_transaction<Connection>::insert_user(std::string_view phone, std::string_view name,
                                               unix_ms now) {
  auto& statement =
      cached("INSERT INTO users (phone, name, created_at) VALUES (?1, ?2, ?3) RETURNING id");
  statement.bind(1, phone).bind(2, name).bind(3, now);
  return user_row{returned_integer(statement), std::string(phone), std::string(name), now};
}

template <class Connection>
void sql_transaction<Connection>::update_user_name(id user_id, std::string_view name) {
  cached("UPDATE users SET name = ?2 WHERE id = ?1").bind(1, user_id).bind(2, name).run();
}

template <class Connection>
id sql_transaction<Connection>::insert_session(std::span<const unsigned char> token_hash, id user_id,
                                            unix_ms now) {
  auto& statement = cached("INSERT INTO sessions (token_hash, user_id, created_at, "
                           "last_seen_at) VALUES (?1, ?2, ?3, ?3) RETURNING id");
  statement.bind_blob(1, token_hash).bind(2, user_id).bind(3, now);
  return returned_integer(statement);
}

template <class Connection>
void sql_transaction<Connection>::touch_session(id session_id, unix_ms now) {
  cached("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND last_seen_at < ?2")
      .bind(1, session_id)
      .bind(2, now)
      .run();
}

template <class Connection>
void sql_transaction<Connection>::revoke_session(id session_id, unix_ms now) {
  cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
      .bind(1, session_id)
      .bind(2, now)
      .run();
  // Its push subscriptions go with it (that browser is no longer signed in).
  cached(push_sql::drop_of_session).bind(1, session_id).run();
}

template <class Connection>
void sql_transaction<Connection>::put_login_code(const login_code_row& code) {
  auto& statement =
      cached("INSERT INTO login_codes (phone, code_hash, created_at, expires_at, attempts) "
             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (phone) DO UPDATE SET code_hash = "
             "excluded.code_hash, "
             "created_at = excluded.created_at, expires_at = excluded.expires_at, "
             "attempts = excluded.attempts");
  statement.bind(1, code.phone);
  if (code.code_hash) {
    statement.bind_blob(2, *code.code_hash);
  } else {
    statement.bind_null(2);
  }
  statement.bind(3, code.created_at).bind(4, code.expires_at).bind(5, std::int64_t{code.attempts});
  statement.run();
}

template <class Connection>
void sql_transaction<Connection>::set_login_code_attempts(std::string_view phone, int attempts) {
  cached("UPDATE login_codes SET attempts = ?2 WHERE phone = ?1")
      .bind(1, phone)
      .bind(2, std::int64_t{attempts})
      .run();
}

template <class Connection>
void sql_transaction<Connection>::delete_login_code(std::string_view phone) {
  cached("DELETE FROM login_codes WHERE phone = ?1").bind(1, phone).run();
}

template <class Connection>
int sql_transaction<Connection>::delete_expired_login_codes(unix_ms now) {
  cached("DELETE FROM login_codes WHERE expires_at < ?1").bind(1, now).run();
  return db_.changes();
}

template <class Connection>
void sql_transaction<Connection>::put_server_secret(std::string_view name,
                                                 std::span<const unsigned char> value) {
  cached("INSERT INTO server_secrets (name, value) VALUES (?1, ?2) "
         "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
      .bind(1, name)
      .bind_blob(2, value)
      .run();
}

template <class Connection>
bytes sql_transaction<Connection>::keep_server_secret(std::string_view name,
                                                      std::span<const unsigned char> value) {
  // On PostgreSQL a concurrent insert of the same name makes this one wait for its commit and
  // then do nothing; the SELECT (a new snapshot under READ COMMITTED) then sees that row.
  cached("INSERT INTO server_secrets (name, value) VALUES (?1, ?2) "
         "ON CONFLICT (name) DO NOTHING")
      .bind(1, name)
      .bind_blob(2, value)
      .run();
  auto stored = server_secret(name);
  if (!stored) {
    throw std::logic_error("keep_server_secret: the secret is not there after the insert");
  }
  return std::move(*stored);
}

} // namespace parley::store
