#pragma once
// Numbered schema migrations for SQLite, applied at start-up, each in its own transaction
// that also records the new version in `PRAGMA user_version`. Append new migrations to the
// list; never edit one that has shipped.

#include "store/sqlite.hpp"

#include <span>
#include <string_view>

namespace parley::store {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every migration, in order, versions 1, 2, 3 …
[[nodiscard]] std::span<const migration> sqlite_migrations();

/// Applies the migrations above the database's version, up to `target` (all by default).
/// Returns the version reached. Throws when the database is newer than this binary.
int migrate(sqlite::connection& db, int target = -1);

/// The database's current schema version.
[[nodiscard]] int schema_version(sqlite::connection& db);

} // namespace parley::store
