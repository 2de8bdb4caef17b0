#include "store/sqlite_database.hpp"

#include "store/sqlite_migrations.hpp"
#include "store/sqlite_transaction.hpp"

#include <spdlog/spdlog.h>

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
}

std::exception_ptr stopped_error() {
  return std::make_exception_ptr(std::runtime_error("the store is stopped"));
}

} // namespace

sqlite_database::sqlite_database(sqlite_options options) : options_(std::move(options)) {
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
  writer_ = std::thread([this] { write_loop(); });
  for (std::size_t index = 0; index < std::max<std::size_t>(1, options_.readers); ++index) {
    readers_.emplace_back([this, index] { read_loop(index); });
  }
}

sqlite_database::~sqlite_database() { stop(); }

void sqlite_database::submit_write(std::unique_ptr<job> work) {
  {
    std::lock_guard lock(writes_.mutex);
    if (!writes_.stopping) {
      writes_.jobs.push_back(std::move(work));
    }
  }
  if (work) {
    work->complete(stopped_error());
    return;
  }
  writes_.ready.notify_one();
}

void sqlite_database::submit_read(std::unique_ptr<job> work) {
  {
    std::lock_guard lock(reads_.mutex);
    if (!reads_.stopping) {
      reads_.jobs.push_back(std::move(work));
    }
  }
  if (work) {
    work->complete(stopped_error());
    return;
  }
  reads_.ready.notify_one();
}

void sqlite_database::stop() {
  std::call_once(stopped_, [this] {
    for (queue* target : {&writes_, &reads_}) {
      {
        std::lock_guard lock(target->mutex);
        target->stopping = true;
      }
      target->ready.notify_all();
    }
    if (writer_.joinable()) {
      writer_.join();
    }
    for (auto& reader : readers_) {
      if (reader.joinable()) {
        reader.join();
      }
    }
  });
}

statistics sqlite_database::stats() const {
  std::lock_guard lock(statistics_mutex_);
  return statistics_;
}

void sqlite_database::write_loop() {
  sqlite::connection db(options_.path, sqlite::open_mode::read_write_create);
  configure(db);
  sqlite_write_transaction transaction(db);
  std::vector<std::unique_ptr<job>> batch;
  std::vector<std::exception_ptr> failures;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(writes_.mutex);
      writes_.ready.wait(lock, [this] { return writes_.stopping || !writes_.jobs.empty(); });
      if (writes_.jobs.empty()) {
        return; // stopping, and everything queued is done
      }
      while (!writes_.jobs.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(writes_.jobs.front()));
        writes_.jobs.pop_front();
      }
    }
    failures.assign(batch.size(), nullptr);
    try {
      sqlite::transaction_guard guard(db, sqlite::transaction_guard::kind::immediate);
      for (std::size_t index = 0; index < batch.size(); ++index) {
        // A savepoint per job: one failing job does not undo the others in the batch.
        db.execute("SAVEPOINT job");
        try {
          batch[index]->run_write(transaction);
          db.execute("RELEASE job");
        } catch (...) {
          failures[index] = std::current_exception();
          db.execute("ROLLBACK TO job");
          db.execute("RELEASE job");
        }
      }
      guard.commit();
    } catch (const std::exception& error) {
      spdlog::error("store.commit_failed jobs={} error={}", batch.size(), error.what());
      failures.assign(batch.size(), std::current_exception());
    }
    {
      std::lock_guard lock(statistics_mutex_);
      statistics_.write_jobs += batch.size();
      statistics_.write_batches += 1;
    }
    for (std::size_t index = 0; index < batch.size(); ++index) {
      batch[index]->complete(failures[index]);
    }
  }
}

void sqlite_database::read_loop(std::size_t index) {
  (void)index;
  sqlite::connection db(options_.path, sqlite::open_mode::read_write_create);
  db.execute("PRAGMA query_only = ON");
  sqlite_read_transaction transaction(db);
  for (;;) {
    std::unique_ptr<job> work;
    {
      std::unique_lock lock(reads_.mutex);
      reads_.ready.wait(lock, [this] { return reads_.stopping || !reads_.jobs.empty(); });
      if (reads_.jobs.empty()) {
        return;
      }
      work = std::move(reads_.jobs.front());
      reads_.jobs.pop_front();
    }
    std::exception_ptr failure;
    try {
      sqlite::transaction_guard guard(db, sqlite::transaction_guard::kind::deferred);
      work->run_read(transaction);
      guard.commit();
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard lock(statistics_mutex_);
      statistics_.read_jobs += 1;
    }
    work->complete(failure);
  }
}

} // namespace parley::store
