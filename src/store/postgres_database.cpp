#include "store/postgres_database.hpp"

#include "store/postgres_migrations.hpp"
#include "store/postgres_transaction.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <span>

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
  /// Whether the connection still answers (a failure on it was the server's answer).
  [[nodiscard]] bool usable() const { return db_ && db_->usable(); }

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

/// A job failed in a transaction without a savepoint per job: run it all again with them.
struct run_again {};

} // namespace

postgres_database::postgres_database(postgres_options options)
    : threaded_database(options.defer_limit, options.slow_commit), options_(std::move(options)) {
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
    // Jobs that name their conversation go in its id order (one conversation's jobs keep
    // theirs), so that a batch mostly needs one transaction.
    std::ranges::stable_sort(batch, {}, [](const auto& work) { return work->conversation_hint(); });
    failures.assign(batch.size(), nullptr);
    // One transaction per run of jobs whose conversations come in ascending id order: a job
    // that would lock a lower one (lock_order_conflict) starts the next transaction, after the
    // jobs before it have committed. Every node locks in that order, so two nodes' batches
    // never wait for each other in a circle (a deadlock).
    std::size_t next = 0;
    // Jobs run without a savepoint each: PostgreSQL makes every savepoint that writes a
    // subtransaction of its own, which cost a sixth to a third of its CPU per message
    // (docs/performance.md). When a job fails, the transaction is rolled back and run again
    // with a savepoint per job, so that the failing job fails alone (jobs may run twice:
    // store::job::run_write).
    bool savepoints = false;
    auto timing = time_commit(); // of the transaction (its retries included)
    while (next < batch.size()) {
      std::size_t end = batch.size();
      // Deferrable jobs alone need no flush of their own (database.hpp): so a transaction of
      // the delivered marks alone, after the sends' (they come last), waits for none.
      const bool flush = needs_flush(std::span(batch).subspan(next));
      bool again = false; // run the transaction again, a savepoint per job
      try {
        auto& db = current.connection();
        db.send("BEGIN");
        current.transaction().transaction_started();
        timing.mark(commit_timing::stage::begin);
        if (!flush) {
          db.send("SET LOCAL synchronous_commit = off");
        }
        for (std::size_t index = next; index < batch.size(); ++index) {
          const auto job_start = db.sent();
          if (savepoints) {
            db.send("SAVEPOINT job");
          }
          try {
            batch[index]->run_write(current.transaction());
            if (savepoints) {
              db.send("RELEASE SAVEPOINT job");
            }
          } catch (const lock_order_conflict&) {
            if (savepoints) {
              db.send("ROLLBACK TO SAVEPOINT job");
              db.send("RELEASE SAVEPOINT job");
            } else if (db.sent() != job_start) {
              throw run_again{}; // it wrote before it found the conflict
            }
            if (index > next) {
              end = index; // it runs first in the next transaction
              break;
            }
            failures[index] = std::current_exception(); // cannot happen first in one
          } catch (...) {
            if (!savepoints) {
              throw run_again{};
            }
            failures[index] = std::current_exception();
            if (!db.usable() || (db.aborted() && db.failed_serial() < job_start)) {
              // The connection is gone, or what failed is a statement an earlier job posted
              // without waiting: either way the whole transaction goes.
              throw;
            }
            if (db.aborted()) {
              db.synchronise(); // the server skips everything after a failure until a sync
            }
            db.send("ROLLBACK TO SAVEPOINT job");
            db.send("RELEASE SAVEPOINT job");
          }
        }
        timing.mark(commit_timing::stage::jobs);
        db.send("COMMIT");
        db.synchronise();
        timing.mark(commit_timing::stage::commit);
      } catch (const run_again&) {
        again = true; // nothing of it committed: COMMIT comes after every job
      } catch (const std::exception& error) {
        // The server refused the transaction (a statement posted without waiting failed, or
        // COMMIT did), so nothing of it committed; unless the connection broke, when COMMIT
        // may have been sent and the outcome is unknown.
        again = !savepoints && current.usable();
        if (!again) {
          spdlog::error("store.commit_failed engine=postgres jobs={} error={}", batch.size() - next,
                        error.what());
          end = batch.size(); // what has not committed fails, to be retried by its callers
          std::fill(failures.begin() + static_cast<std::ptrdiff_t>(next), failures.end(),
                    std::current_exception());
          current.recover();
        }
      }
      if (again) {
        // Run it again, job by job.
        current.recover();
        std::fill(failures.begin() + static_cast<std::ptrdiff_t>(next), failures.end(), nullptr);
        savepoints = true;
        continue;
      }
      complete_committed(batch, failures, next, end, timing, "postgres", flush);
      next = end;
      timing = time_commit();
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
