#include "store/sqlite_migrations.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace parley::store {

int schema_version(sqlite::connection& db) {
  auto statement = sqlite::statement(db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
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
    db.execute(fmt::format("PRAGMA user_version = {}", step.version));
    transaction.commit();
    version = step.version;
  }
  return version;
}

} // namespace parley::store
