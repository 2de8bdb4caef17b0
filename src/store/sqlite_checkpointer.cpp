#include "store/sqlite_checkpointer.hpp"

#include "common/thread_name.hpp"
#include "store/commit_timing.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <utility>

namespace parley::store {

sqlite_checkpointer::sqlite_checkpointer(std::string path, std::size_t frames,
                                         statistics_counter& counter,
                                         std::chrono::microseconds slow)
    : path_(std::move(path)), frames_(frames), counter_(counter), slow_(slow),
      thread_(common::named_thread("checkpointer", [this] { run(); })) {}

sqlite_checkpointer::~sqlite_checkpointer() { stop(); }

void sqlite_checkpointer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void sqlite_checkpointer::attach(sqlite::connection& writer) {
  // Replaces the hook that wal_autocheckpoint installed (sqlite3_wal_autocheckpoint is one).
  sqlite3_wal_hook(writer.handle(), &sqlite_checkpointer::on_commit, this);
}

int sqlite_checkpointer::on_commit(void* self, sqlite3* /*db*/, const char* /*name*/,
                                   int frames) {
  static_cast<sqlite_checkpointer*>(self)->wal_frames_ = static_cast<std::size_t>(frames);
  return SQLITE_OK;
}

void sqlite_checkpointer::after_batch(sqlite::connection& writer, bool writer_thread) {
  if (wal_frames_ < frames_) {
    pass_asked_ = false; // the WAL started over since (or never grew): a pass asked is moot
    return;
  }
  if (wal_frames_ >= 4 * frames_) {
    if (writer_thread) {
      checkpoint_on_writer(writer);
    }
    return;
  }
  if (pass_asked_) {
    {
      std::lock_guard lock(mutex_);
      if (!done_ || !writer_thread) {
        return; // under way, or done and left to the writer thread's next batch
      }
      done_ = false;
    }
    pass_asked_ = false;
    if (wal_frames_ - asked_at_ <= frames_ / 8) {
      checkpoint_on_writer(writer);
      return;
    }
  }
  pass_asked_ = true;
  asked_at_ = wal_frames_;
  {
    std::lock_guard lock(mutex_);
    asked_ = true;
    done_ = false;
  }
  wake_.notify_one();
}

bool sqlite_checkpointer::due_on_writer() {
  if (wal_frames_ >= 4 * frames_) {
    return true;
  }
  if (wal_frames_ < frames_ || !pass_asked_) {
    return false;
  }
  std::lock_guard lock(mutex_);
  return done_;
}

void sqlite_checkpointer::checkpoint_on_writer(sqlite::connection& writer) {
  if (checkpoint(writer, true)) {
    counter_.add_checkpoint(true);
  }
  pass_asked_ = false;
}

bool sqlite_checkpointer::checkpoint(sqlite::connection& db, bool on_writer) {
  std::lock_guard lock(checkpoint_mutex_);
  int log = 0;
  int copied = 0;
  const slow_span timing(slow_);
  const int result =
      sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (const auto over = timing.ended()) {
    spdlog::warn("store.slow_checkpoint thread={} result={} wal_frames={} copied={} "
                 "took_ms={:.3f}{}",
                 on_writer ? "writer" : "checkpointer", result, log, copied, over->took_ms,
                 over->thread_fields);
  }
  if (result == SQLITE_BUSY) {
    // Another process's checkpoint (this one's run one at a time): a later batch tries again.
    spdlog::debug("store.checkpoint_busy");
    return false;
  }
  if (result != SQLITE_OK || log < 0) { // -1: the connection does not see a WAL
    spdlog::warn("store.checkpoint_failed code={} error={}", result, sqlite3_errmsg(db.handle()));
    return false;
  }
  return true;
}

void sqlite_checkpointer::run() {
  std::unique_ptr<sqlite::connection> db;
  try {
    db = std::make_unique<sqlite::connection>(path_, sqlite::open_mode::read_write_create);
    // A connection that has read nothing does not know the database is in WAL mode, and its
    // checkpoint would do nothing. FULL: the database file is flushed after each copy.
    db->execute("PRAGMA journal_mode = WAL");
    db->execute("PRAGMA synchronous = FULL");
  } catch (const std::exception& error) {
    // The writer checkpoints itself past four times the threshold.
    spdlog::error("store.checkpointer_failed error={}", error.what());
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return asked_ || stopping_; });
    if (stopping_) {
      return;
    }
    asked_ = false;
    lock.unlock();
    const bool made = db != nullptr && checkpoint(*db, false);
    if (made) {
      counter_.add_checkpoint(false);
    }
    lock.lock();
    done_ = true;
  }
}

} // namespace parley::store
