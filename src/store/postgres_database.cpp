#include "store/postgres_database.hpp"

#include "store/postgres_migrations.hpp"
#include "store/postgres_transaction.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

namespace parley::store {
namespace {

/// A connection and the transaction over it, made again after the connection is lost.
class session {
public:
  explicit session(const postgres_options& options) : options_(options) {}

  /// The connection, connected now when there is none or the last one was lost (also while
  /// it sat idle: a restarted server closed it).
  postgres::connection& connection() {
    if (!db_ || !db_->still_open()) {
      transaction_.reset();
      db_.reset();
      db_ = std::make_unique<postgres::connection>(options_.url,
                                                   postgres::connection_options{options_.timeout});
      transaction_.emplace(*db_);
    }
    return *db_;
  }
  postgres_transaction& transaction() { return *transaction_; }

  /// After a failure: leaves the connection outside any transaction, or drops it.
  void recover() noexcept {
    if (!db_ || !db_->usable()) {
      return;
    }
    try {
      if (db_->aborted()) {
        db_->synchronise();
      }
      db_->send("ROLLBACK");
      db_->synchronise();
    } catch (const std::exception& error) {
      spdlog::warn("store.postgres_reset error={}", error.what());
      transaction_.reset();
      db_.reset();
    }
  }

private:
  const postgres_options& options_;
  std::unique_ptr<postgres::connection> db_;
  std::optional<postgres_transaction> transaction_;
};

} // namespace

postgres_database::postgres_database(postgres_options options) : options_(std::move(options)) {
  {
    postgres::connection db(options_.url, postgres::connection_options{options_.timeout});
    const int before = store::schema_version(db);
    schema_version_ = migrate(db);
    if (schema_version_ != before) {
      spdlog::info("store.migrated engine=postgres from={} to={}", before, schema_version_);
    }
  }
  start(options_.readers);
}

postgres_database::~postgres_database() { stop(); }

void postgres_database::write_loop() {
  session current(options_);
  std::vector<std::unique_ptr<job>> batch;
  std::vector<std::exception_ptr> failures;
  while (writes_.take(batch, options_.max_batch)) {
    failures.assign(batch.size(), nullptr);
    try {
      auto& db = current.connection();
      db.send("BEGIN");
      for (std::size_t index = 0; index < batch.size(); ++index) {
        // A savepoint per job: one failing job does not undo the others in the batch.
        db.send("SAVEPOINT job");
        try {
          batch[index]->run_write(current.transaction());
          db.send("RELEASE SAVEPOINT job");
        } catch (...) {
          failures[index] = std::current_exception();
          if (!db.usable()) {
            throw; // the connection is gone, and with it the whole transaction
          }
          if (db.aborted()) {
            db.synchronise(); // the server skips everything after a failure until a sync
          }
          db.send("ROLLBACK TO SAVEPOINT job");
          db.send("RELEASE SAVEPOINT job");
        }
      }
      db.send("COMMIT");
      db.synchronise();
    } catch (const std::exception& error) {
      spdlog::error("store.commit_failed engine=postgres jobs={} error={}", batch.size(),
                    error.what());
      failures.assign(batch.size(), std::current_exception());
      current.recover();
    }
    statistics_.add_writes(batch.size());
    for (std::size_t index = 0; index < batch.size(); ++index) {
      batch[index]->complete(failures[index]);
    }
  }
}

void postgres_database::read_loop() {
  session current(options_);
  std::vector<std::unique_ptr<job>> taken;
  while (reads_.take(taken, 1)) {
    auto& work = taken.front();
    std::exception_ptr failure;
    try {
      auto& db = current.connection();
      db.send("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      work->run_read(current.transaction());
      db.send("COMMIT");
      db.synchronise();
    } catch (...) {
      failure = std::current_exception();
      current.recover();
    }
    statistics_.add_read();
    work->complete(failure);
  }
}

} // namespace parley::store
