#include "store/sqlite_migrations.hpp"

#include "store/sql_rows.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>

namespace parley::store {
namespace {

std::int64_t single_integer(sqlite::connection& db, const char* sql) {
  sqlite::statement statement(db, sql);
  return sql_rows::returned_integer(statement);
}

// SQLite's procedure for a change that leaves the file's content as it is
// (https://www.sqlite.org/lang_altertable.html#otheralter), inside the migration's transaction.
// The new version makes this connection and every other one read the schema again: a text
// SQLite cannot parse fails the statement after it, and the migration rolls back.
void edit_schema(sqlite::connection& db, std::string_view updates) {
  const auto version = single_integer(db, "PRAGMA schema_version");
  db.execute("PRAGMA writable_schema = ON");
  db.execute(updates);
  db.execute(fmt::format("PRAGMA schema_version = {}", version + 1));
  db.execute("PRAGMA writable_schema = OFF");
  single_integer(db, "SELECT count(*) FROM sqlite_schema");
}

} // namespace

int schema_version(sqlite::connection& db) {
  return static_cast<int>(single_integer(db, "PRAGMA user_version"));
}

int migrate(sqlite::connection& db, int target) {
  const auto all = migrations();
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
    db.execute(step.sqlite);
    if (!step.sqlite_schema_edit.empty()) {
      edit_schema(db, step.sqlite_schema_edit);
    }
    db.execute(fmt::format("PRAGMA user_version = {}", step.version));
    transaction.commit();
    version = step.version;
  }
  return version;
}

} // namespace parley::store
