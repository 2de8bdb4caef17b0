#pragma once
// The migrations (migrations.hpp) applied to PostgreSQL, each in its own transaction that also
// records the new version in the one-row table parley_schema. Nodes starting together take
// turns under an advisory lock. Internal to the store.

#include "store/migrations.hpp"
#include "store/postgres.hpp"

namespace parley::store {

/// Applies the migrations above the database's version, up to `target` (all by default).
/// Returns the version reached. Throws when the database is newer than this binary.
int migrate(postgres::connection& db, int target = -1);

/// The database's current schema version (0 for an empty database).
[[nodiscard]] int schema_version(postgres::connection& db);

} // namespace parley::store
