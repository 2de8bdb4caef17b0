#include "store/sqlite_migrations.hpp"

#include <array>
#include <fmt/format.h>

namespace parley::store {
namespace {

constexpr std::array k_migrations{
    migration{1, "users, sessions, login codes", R"sql(
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  phone      TEXT    NOT NULL UNIQUE,
  name       TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
  id           INTEGER PRIMARY KEY,
  token_hash   BLOB    NOT NULL UNIQUE,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  revoked_at   INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One live code per phone. code_hash is NULL when the SMS provider keeps the code.
CREATE TABLE login_codes (
  phone      TEXT    PRIMARY KEY,
  code_hash  BLOB,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX login_codes_by_expiry ON login_codes (expires_at);

CREATE TABLE server_secrets (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql"},
};

} // namespace

std::span<const migration> sqlite_migrations() { return k_migrations; }

int schema_version(sqlite::connection& db) {
  auto statement = sqlite::statement(db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

int migrate(sqlite::connection& db, int target) {
  const auto all = sqlite_migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  if (target < 0) {
    target = latest;
  }
  int version = schema_version(db);
  if (version > latest) {
    throw std::runtime_error(fmt::format(
        "the database has schema version {} but this build knows only up to {}: use a newer build",
        version, latest));
  }
  for (const auto& step : all) {
    if (step.version <= version || step.version > target) {
      continue;
    }
    sqlite::transaction_guard transaction(db, sqlite::transaction_guard::kind::immediate);
    db.execute(step.sql);
    db.execute(fmt::format("PRAGMA user_version = {}", step.version));
    transaction.commit();
    version = step.version;
  }
  return version;
}

} // namespace parley::store
