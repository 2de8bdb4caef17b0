#pragma once
// The shared store for several nodes: PostgreSQL, the twin of sqlite_database (database.hpp's
// contract). One writer thread per node with one connection does group commit: it takes
// every job waiting (up to a bound), runs each in a savepoint of one transaction, commits,
// and only then completes them; BEGIN, SAVEPOINT, RELEASE and COMMIT ride in the pipeline
// with the jobs' statements; a batch of deferrable jobs alone commits with
// synchronous_commit off (the server flushes it with the next commit or within its
// wal_writer_delay). Reader threads run each read job in a read-only
// REPEATABLE READ transaction (one snapshot, as a SQLite reader sees).
//
// A lost connection fails the jobs of its batch (none of them is acknowledged: nothing is
// known to have committed) and the next batch connects again; while the server is down,
// jobs fail at once with database_error::kind::unavailable and the node stays up.

#include "store/database.hpp"
#include "store/threaded_database.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace parley::store {

struct postgres_options {
  std::string url;               ///< postgres://user@host:port/database (libpq's URI form).
  std::size_t readers = 4;       ///< Reader threads (and connections).
  std::size_t max_batch = 1024;  ///< Most jobs committed in one transaction.
  /// The longest a deferrable write (job::deferrable) waits for other writes to commit with.
  std::chrono::milliseconds defer_limit{20};
  /// The longest wait for the server in one call; past it the connection counts as lost.
  std::chrono::milliseconds timeout{10'000};
  /// A commit that takes longer is logged with its stages (commit_timing.hpp); zero: none.
  std::chrono::microseconds slow_commit{0};
};

class postgres_database final : public threaded_database {
public:
  /// Connects, applies pending migrations (one node at a time, under an advisory lock),
  /// starts the threads. Throws database_error on failure (start-up error).
  explicit postgres_database(postgres_options options);
  ~postgres_database() override;

  [[nodiscard]] int schema_version() const override { return schema_version_; }

private:
  void write_loop() override;
  void read_loop() override;

  postgres_options options_;
  int schema_version_ = 0;
};

} // namespace parley::store
