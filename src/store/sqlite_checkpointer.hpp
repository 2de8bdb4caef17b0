#pragma once
// The embedded store's checkpoints, off the writer's path.
//
// Left to itself, SQLite checkpoints (copies the WAL's pages into the database file, then
// flushes that file) inside the commit that takes the WAL past wal_autocheckpoint: the writer,
// and every job queued behind it, waits for the copy and the flush. Here the writer's
// connection checkpoints nothing by itself; its WAL hook counts the WAL's frames and, past
// `frames`, a thread of this object's own runs a PASSIVE checkpoint on a connection of its own
// while the writer goes on committing. Such a pass never catches up with a busy writer, so the
// WAL could not start again from its beginning: when a pass is done, the writer checkpoints
// what was appended meanwhile itself, between two batches (what the commits during the pass
// wrote, and a flush: shorter than a whole checkpoint, not free), and its next commit starts
// the WAL over. When that remainder is large (more than an eighth of `frames`), the thread
// makes another pass first; past four times `frames` (the thread cannot keep up, or cannot
// run) the writer checkpoints at once, after a pass under way, as SQLite would.
// A checkpoint cannot copy what a reader's snapshot still needs; that is SQLite's rule
// whoever runs it.
//
// Thread-safety: attach(), after_batch() and due_on_writer() by whichever thread holds the
// writer's connection (the writer thread, or one committing a batch itself: write_here), one at
// a time, and not after stop().

#include "store/sqlite.hpp"
#include "store/threaded_database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace parley::store {

class sqlite_checkpointer {
public:
  /// Starts the checkpointing thread for the database at `path`; its passes are counted in
  /// `counter` (statistics::checkpoints), which must outlive this object. A checkpoint that
  /// takes longer than `slow` (if positive) is logged, as the commits are (commit_timing.hpp).
  sqlite_checkpointer(std::string path, std::size_t frames, statistics_counter& counter,
                      std::chrono::microseconds slow);
  ~sqlite_checkpointer(); ///< stop()
  sqlite_checkpointer(const sqlite_checkpointer&) = delete;
  sqlite_checkpointer& operator=(const sqlite_checkpointer&) = delete;

  /// Stops the thread and closes its connection (a pass under way finishes first). The
  /// writer calls it when it stops; later calls do nothing.
  void stop();

  /// Takes over the checkpoints of the writer's connection (its WAL hook). Before its first
  /// commit.
  void attach(sqlite::connection& writer);
  /// Between two batches, when every job of the last one is completed: asks for a pass, or
  /// checkpoints on `writer` (the connection given to attach()); the latter only on the writer
  /// thread (`writer_thread`): after a batch committed on another thread (write_here), a
  /// checkpoint due on the connection waits for the writer thread's next batch.
  void after_batch(sqlite::connection& writer, bool writer_thread);
  /// Whether after_batch on the writer thread would checkpoint on the connection now (or
  /// decide between that and another pass): a batch is then the writer thread's to commit.
  [[nodiscard]] bool due_on_writer();

private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  void run();
  // A PASSIVE checkpoint on `db` (the writer's connection, or the thread's), one at a time
  // (checkpoint_mutex_). False when it failed.
  bool checkpoint(sqlite::connection& db, bool on_writer);
  void checkpoint_on_writer(sqlite::connection& writer);

  const std::string path_;
  const std::size_t frames_;
  statistics_counter& counter_;
  const std::chrono::microseconds slow_;

  // The connection holder's own (thread-safety above).
  std::size_t wal_frames_ = 0;  // the WAL's frames after the last commit (its hook)
  bool pass_asked_ = false;     // a pass was asked for and the writer has not seen it done
  std::size_t asked_at_ = 0;    // wal_frames_ when it was asked for

  std::mutex checkpoint_mutex_; // one checkpoint at a time, whichever thread runs it

  std::mutex mutex_;
  std::condition_variable wake_;
  bool asked_ = false;    // guarded by mutex_: a pass to make
  bool done_ = false;     // guarded by mutex_: a pass finished since the writer last looked
  bool stopping_ = false; // guarded by mutex_
  std::thread thread_;
};

} // namespace parley::store
