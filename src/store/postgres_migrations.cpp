#include "store/postgres_migrations.hpp"

#include "store/sql_rows.hpp"

#include <fmt/format.h>

namespace parley::store {
namespace {

// Any fixed number: the key of the session-level advisory lock that migrations run under.
constexpr const char* lock_sql = "SELECT pg_advisory_lock(7261657)";
constexpr const char* unlock_sql = "SELECT pg_advisory_unlock(7261657)";

} // namespace

int schema_version(postgres::connection& db) {
  auto& exists = db.cached("SELECT to_regclass('parley_schema') IS NOT NULL");
  if (sql_rows::returned_integer(exists) == 0) {
    return 0;
  }
  auto& version = db.cached("SELECT version FROM parley_schema");
  return static_cast<int>(sql_rows::returned_integer(version));
}

int migrate(postgres::connection& db, int target) {
  const auto all = migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  if (target < 0) {
    target = latest;
  }
  db.execute(lock_sql);
  try {
    db.execute("CREATE TABLE IF NOT EXISTS parley_schema (version integer NOT NULL); "
               "INSERT INTO parley_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM parley_schema)");
    int version = schema_version(db);
    if (version > latest) {
      throw database_error(
          database_error::kind::other,
          fmt::format("the database has schema version {} but this build knows only up to {}: "
                      "use a newer build",
                      version, latest));
    }
    for (const auto& step : all) {
      if (step.version <= version || step.version > target) {
        continue;
      }
      db.execute(fmt::format("BEGIN; {}; UPDATE parley_schema SET version = {}; COMMIT",
                             step.postgres, step.version));
      version = step.version;
    }
    db.execute(unlock_sql);
    return version;
  } catch (...) {
    if (db.usable()) {
      db.execute("ROLLBACK; " + std::string(unlock_sql));
    }
    throw;
  }
}

} // namespace parley::store
