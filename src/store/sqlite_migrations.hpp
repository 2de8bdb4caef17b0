#pragma once
// The migrations (migrations.hpp) applied to SQLite, each in its own transaction that also
// records the new version in `PRAGMA user_version`.

#include "store/migrations.hpp"
#include "store/sqlite.hpp"

#include <span>
#include <string_view>

namespace parley::store {

/// Applies the migrations above the database's version, up to `target` (all by default).
/// Returns the version reached. Throws when the database is newer than this binary.
int migrate(sqlite::connection& db, int target = -1);

/// The database's current schema version.
[[nodiscard]] int schema_version(sqlite::connection& db);

} // namespace parley::store
