#include "store/sqlite_database.hpp"

#include "store/sqlite_migrations.hpp"
#include "store/sqlite_transaction.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <stdexcept>

namespace parley::store {
namespace {

void configure(sqlite::connection& db) {
  db.execute("PRAGMA journal_mode = WAL");
  db.execute("PRAGMA synchronous = FULL");
  db.execute("PRAGMA foreign_keys = ON");
  // A deleted message's body and versions are overwritten in the pages that held them
  // (FAST: where that costs no extra I/O; the WAL keeps old frames until it is reused).
  db.execute("PRAGMA secure_delete = FAST");
  // The writer's checkpoints are the checkpointer's (sqlite_checkpointer.hpp); this is for the
  // connection that runs the migrations.
  db.execute("PRAGMA wal_autocheckpoint = 4000");
}

// Back to synchronous=FULL after a deferrable batch. Setting a pragma does not fail on an open
// connection; if it ever did, no later commit could be trusted to be on disk.
void restore_full_sync(sqlite::connection& db) noexcept {
  try {
    db.cached("PRAGMA synchronous = FULL").post();
  } catch (const std::exception& error) {
    spdlog::critical("store.sync_restore_failed error={}", error.what());
    std::terminate();
  }
}

// A connection that only reads: a write through it fails instead of taking the write lock.
void configure_reader(sqlite::connection& db) { db.execute("PRAGMA query_only = ON"); }

// How many steps of a statement run here between two looks at the read's budget (a step is
// one SQLite virtual-machine instruction; a thousand are some tens of microseconds).
constexpr int k_steps_between_budget_checks = 1000;

} // namespace

// A read connection of one thread's own (database::read_here). A read runs in a transaction
// of its own within the budget; the progress handler interrupts a statement once it is over.
class sqlite_database::local_reader final : public local_reads {
public:
  using clock = std::chrono::steady_clock;

  local_reader(const sqlite_database& owner, std::chrono::microseconds budget)
      : owner_(owner), budget_(budget),
        db_(owner.options_.path, sqlite::open_mode::read_write_create), transaction_(db_),
        outer_(current_) {
    configure_reader(db_);
    // A lock to wait for (a checkpoint, a recovery) fails the read here at once: a reader
    // thread waits for it instead.
    db_.set_busy_timeout(std::chrono::milliseconds(0));
    db_.set_progress_handler(k_steps_between_budget_checks, &local_reader::over_budget, this);
    current_ = this;
  }
  ~local_reader() override { current_ = outer_; }
  local_reader(const local_reader&) = delete;
  local_reader& operator=(const local_reader&) = delete;

  /// This thread's reader for `database`, if it has one.
  static local_reader* of_this_thread(const sqlite_database& database) {
    return current_ != nullptr && &current_->owner_ == &database ? current_ : nullptr;
  }

  here run(job& work) {
    if (running_) {
      return here::not_here; // asked for by a read running here
    }
    running_ = true;
    over_ = false;
    deadline_ = clock::now() + budget_;
    bool done = false;
    try {
      sqlite::transaction_guard guard(db_, sqlite::transaction_guard::kind::deferred);
      {
        const armed while_reading(armed_); // the commit or rollback runs whatever the time
        work.run_read(transaction_);
      }
      if (!over_) { // a read that caught its own interruption is not done either
        guard.commit();
        done = true;
      }
    } catch (...) {
      // Interrupted, busy or failed: a reader runs it and reports its outcome.
    }
    running_ = false;
    return done ? here::done : here::moved;
  }

private:
  // Sets a flag for its scope.
  struct armed {
    explicit armed(bool& flag) : flag(flag) { flag = true; }
    ~armed() { flag = false; }
    armed(const armed&) = delete;
    armed& operator=(const armed&) = delete;
    bool& flag;
  };

  static int over_budget(void* self) {
    auto& reader = *static_cast<local_reader*>(self);
    if (!reader.armed_ || clock::now() < reader.deadline_) {
      return 0;
    }
    reader.over_ = true;
    return 1;
  }

  inline static thread_local local_reader* current_ = nullptr;

  const sqlite_database& owner_;
  const std::chrono::microseconds budget_;
  sqlite::connection db_;
  sqlite_read_transaction transaction_;
  local_reader* const outer_; // this thread's reader made before this one (another database's)
  clock::time_point deadline_;
  bool running_ = false;
  bool armed_ = false; // the progress handler may interrupt
  bool over_ = false;  // it did
};

sqlite_database::sqlite_database(sqlite_options options)
    : threaded_database(options.defer_limit, options.slow_commit), options_(std::move(options)) {
  const auto parent = std::filesystem::path(options_.path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  // Migrate on this thread before any other connection exists; the writer then reopens.
  {
    sqlite::connection db(options_.path, sqlite::open_mode::read_write_create);
    configure(db);
    const int before = store::schema_version(db);
    schema_version_ = migrate(db);
    if (schema_version_ != before) {
      spdlog::info("store.migrated path={} from={} to={}", options_.path, before, schema_version_);
    }
  }
  checkpointer_.emplace(options_.path, options_.checkpoint_frames, statistics_,
                        options_.slow_commit);
  writer_.emplace(options_.path);
  configure(writer_->db);
  checkpointer_->attach(writer_->db);
  start(options_.readers);
}

sqlite_database::~sqlite_database() { stop(); }

std::unique_ptr<local_reads> sqlite_database::read_here(std::chrono::microseconds budget) {
  if (budget <= std::chrono::microseconds::zero()) {
    return nullptr;
  }
  return std::make_unique<local_reader>(*this, budget);
}

threaded_database::here sqlite_database::run_here(job& work) {
  auto* reader = local_reader::of_this_thread(*this);
  return reader != nullptr ? reader->run(work) : here::not_here;
}

void sqlite_database::write_loop() {
  std::vector<std::unique_ptr<job>> batch;
  while (writes_.take(batch, options_.max_batch)) {
    commit(batch, true);
  }
  checkpointer_->stop();
}

std::unique_ptr<local_writes>
sqlite_database::write_here(const boost::asio::any_io_executor& executor,
                            std::chrono::microseconds budget) {
  return make_local_writer(executor, budget, options_.most_jobs_here, options_.max_batch);
}

void sqlite_database::commit_batch(std::vector<std::unique_ptr<job>>& batch) {
  commit(batch, false);
}

bool sqlite_database::may_commit_here() {
  return !checkpointer_->due_on_writer();
}

void sqlite_database::commit(std::vector<std::unique_ptr<job>>& batch, bool writer_thread) {
  auto& db = writer_->db;
  auto& transaction = writer_->transaction;
  auto& failures = writer_->failures;
  auto timing = time_commit();
  // Deferrable jobs alone need no flush of their own (database.hpp).
  const bool flush = needs_flush(batch);
  if (!flush) {
    db.cached("PRAGMA synchronous = NORMAL").post();
  }
  // The jobs run without a savepoint each (two statements a job, about a twelfth of a
  // message's instructions: docs/performance.md). When one fails, the transaction is rolled
  // back and the same jobs run again, each in a savepoint of its own, so that the failing job
  // fails alone (jobs may run twice: store::job::run_write). Each statement is prepared once
  // (sqlite3_exec would parse it again for every job).
  //
  // The sends' raises of their conversations' last seq and of their senders' read marks are
  // held and written once per conversation and member before the commit (or before each
  // job's release in the second pass), and forgotten when what they belong to is rolled back
  // (sql_transaction::hold_raises).
  for (const bool savepoints : {false, true}) {
    failures.assign(batch.size(), nullptr);
    try {
      sqlite::transaction_guard guard(db, sqlite::transaction_guard::kind::immediate);
      timing.mark(commit_timing::stage::begin);
      if (const auto version = db.data_version();
          !version || version != writer_->committed_version) {
        transaction.forget_message_id(); // another connection may have inserted since
      }
      bool failed = false;
      for (std::size_t index = 0; index < batch.size() && !failed; ++index) {
        if (savepoints) {
          db.cached("SAVEPOINT job").post();
        }
        transaction.hold_raises();
        try {
          batch[index]->run_write(transaction);
          if (savepoints) {
            transaction.write_held_raises();
            db.cached("RELEASE job").post();
          }
        } catch (...) {
          failures[index] = std::current_exception();
          transaction.drop_held_raises();
          if (savepoints) {
            db.cached("ROLLBACK TO job").post();
            db.cached("RELEASE job").post();
          } else {
            failed = true; // the guard rolls it all back: run it again, job by job
          }
        }
      }
      if (!failed) {
        try {
          transaction.write_held_raises();
        } catch (...) {
          transaction.drop_held_raises();
          failed = true; // a job's raise failed: the second pass finds which
        }
      }
      if (failed) {
        continue;
      }
      timing.mark(commit_timing::stage::jobs);
      guard.commit();
      timing.mark(commit_timing::stage::commit);
      writer_->committed_version = db.data_version();
    } catch (const std::exception& error) {
      transaction.drop_held_raises();
      spdlog::error("store.commit_failed jobs={} error={}", batch.size(), error.what());
      failures.assign(batch.size(), std::current_exception());
    }
    break;
  }
  if (!flush) {
    restore_full_sync(db);
  }
  complete_committed(batch, failures, 0, batch.size(), timing, "sqlite", flush);
  checkpointer_->after_batch(db, writer_thread);
}

void sqlite_database::read_loop() {
  sqlite::connection db(options_.path, sqlite::open_mode::read_write_create);
  configure_reader(db);
  sqlite_read_transaction transaction(db);
  std::vector<std::unique_ptr<job>> taken;
  while (reads_.take(taken, 1)) {
    auto& work = taken.front();
    std::exception_ptr failure;
    try {
      sqlite::transaction_guard guard(db, sqlite::transaction_guard::kind::deferred);
      work->run_read(transaction);
      guard.commit();
    } catch (...) {
      failure = std::current_exception();
    }
    statistics_.add_read();
    work->complete(failure);
  }
}

} // namespace parley::store
