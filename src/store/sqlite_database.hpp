#pragma once
// The embedded store: SQLite in WAL mode with synchronous=FULL and foreign keys on; a batch of
// deferrable jobs alone commits with synchronous=NORMAL (the WAL is not flushed for it: the
// next FULL commit or checkpoint flushes it with everything before it).
// One writer thread with group commit, `readers` reader threads, reads on the threads that
// ask for them (read_here; see database.hpp), and a thread for the WAL's checkpoints
// (sqlite_checkpointer.hpp).

#include "store/database.hpp"
#include "store/sqlite_checkpointer.hpp"
#include "store/sqlite_transaction.hpp"
#include "store/threaded_database.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parley::store {

struct sqlite_options {
  std::string path;                   ///< Database file; its folder is created if missing.
  std::size_t readers = 4;            ///< Reader threads (and connections).
  std::size_t max_batch = 1024;       ///< Most jobs committed in one transaction.
  /// The longest a deferrable write (job::deferrable) waits for other writes to commit with.
  std::chrono::milliseconds defer_limit{20};
  /// The WAL's size in frames (pages) past which it is checkpointed, off the writer's path
  /// (sqlite_checkpointer.hpp). About 64 MB of WAL: a checkpoint copies each page once however
  /// often it changed, and a commit's pages are mostly the same few, so fewer checkpoints copy
  /// less; and each still holds the writer up for a while (docs/performance.md, "Checkpoints
  /// off the writer's path").
  std::size_t checkpoint_frames = 16000;
  /// The most jobs that are not deferrable an I/O thread commits itself (write_here).
  std::size_t most_jobs_here = 8;
  /// A commit or checkpoint that takes longer is logged, a commit with its stages
  /// (commit_timing.hpp); zero: none.
  std::chrono::microseconds slow_commit{0};
};

class sqlite_database final : public threaded_database {
public:
  /// Opens (creating if needed) the database, applies pending migrations, starts the
  /// threads. Throws on failure (start-up error).
  explicit sqlite_database(sqlite_options options);
  ~sqlite_database() override;

  [[nodiscard]] int schema_version() const override { return schema_version_; }
  /// A connection of the calling thread's own for its reads (database::read_here).
  [[nodiscard]] std::unique_ptr<local_reads> read_here(std::chrono::microseconds budget) override;
  /// Commits of a light load on the calling thread (database::write_here).
  [[nodiscard]] std::unique_ptr<local_writes>
  write_here(const boost::asio::any_io_executor& executor,
             std::chrono::microseconds budget) override;

private:
  class local_reader;

  here run_here(job& work) override;
  void write_loop() override;
  void read_loop() override;
  void commit_batch(std::vector<std::unique_ptr<job>>& batch) override;
  bool may_commit_here() override;
  // Runs, commits and completes `batch` on the writer's connection; on the writer thread, or
  // on a thread that holds the claim on writes_ (write_here).
  void commit(std::vector<std::unique_ptr<job>>& batch, bool writer_thread);

  // The writer's connection: used by one thread at a time, the writer thread or one holding
  // the claim on writes_ (job_queue::try_claim).
  struct writer_connection {
    explicit writer_connection(const std::string& path)
        : db(path, sqlite::open_mode::read_write_create), transaction(db) {}
    sqlite::connection db;
    sqlite_write_transaction transaction;
    std::vector<std::exception_ptr> failures;
    /// The connection's data version right after its last commit: at the next BEGIN, the same
    /// value means no other connection wrote since, so the next message id it knows holds.
    std::optional<unsigned> committed_version;
  };

  sqlite_options options_;
  int schema_version_ = 0;
  std::optional<sqlite_checkpointer> checkpointer_; // made after the migrations, before start()
  std::optional<writer_connection> writer_;         // made before start(), closed last
};

} // namespace parley::store
