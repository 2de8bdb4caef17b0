#include "store/sqlite_migrations.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace parley::store {

int schema_version(sqlite::connection& db) {
  auto statement = sqlite::statement(db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

namespace {

// Turns foreign key enforcement off for its lifetime, back on after if it was.
class foreign_keys_off {
public:
  explicit foreign_keys_off(sqlite::connection& db) : db_(db) {
    auto current = sqlite::statement(db_, "PRAGMA foreign_keys");
    enforced_ = current.step() && current.integer(0) != 0;
    db_.execute("PRAGMA foreign_keys = OFF");
  }
  ~foreign_keys_off() {
    if (enforced_) {
      db_.execute("PRAGMA foreign_keys = ON");
    }
  }
  foreign_keys_off(const foreign_keys_off&) = delete;
  foreign_keys_off& operator=(const foreign_keys_off&) = delete;

private:
  sqlite::connection& db_;
  bool enforced_ = false;
};

} // namespace

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
  // A step may rebuild a table (create, copy, drop, rename): with foreign keys enforced, the
  // drop would delete the rows that refer to the old table. So they are off while the steps run
  // (the pragma has no effect inside a transaction), and each step is checked before its commit.
  const foreign_keys_off off(db);
  for (const auto& step : all) {
    if (step.version <= version || step.version > target) {
      continue;
    }
    sqlite::transaction_guard transaction(db, sqlite::transaction_guard::kind::immediate);
    db.execute(step.sqlite);
    if (auto broken = sqlite::statement(db, "PRAGMA foreign_key_check"); broken.step()) {
      throw std::runtime_error(fmt::format("migration {} leaves a row of {} referring to nothing",
                                           step.version, broken.text(0)));
    }
    db.execute(fmt::format("PRAGMA user_version = {}", step.version));
    transaction.commit();
    version = step.version;
  }
  return version;
}

} // namespace parley::store
