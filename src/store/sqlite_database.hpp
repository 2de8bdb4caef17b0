#pragma once
// The embedded store: SQLite in WAL mode with synchronous=FULL and foreign keys on.
// One writer thread with group commit, `readers` reader threads; see database.hpp.

#include "store/database.hpp"
#include "store/job_queue.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::store {

struct sqlite_options {
  std::string path;                   ///< Database file; its folder is created if missing.
  std::size_t readers = 4;            ///< Reader threads (and connections).
  std::size_t max_batch = 1024;       ///< Most jobs committed in one transaction.
};

class sqlite_database final : public database {
public:
  /// Opens (creating if needed) the database, applies pending migrations, starts the
  /// threads. Throws on failure (start-up error).
  explicit sqlite_database(sqlite_options options);
  ~sqlite_database() override;

  void submit_write(std::unique_ptr<job> work) override;
  void submit_read(std::unique_ptr<job> work) override;
  void stop() override;
  [[nodiscard]] statistics stats() const override;

  [[nodiscard]] int schema_version() const override { return schema_version_; }

private:
  void write_loop();
  void read_loop();

  sqlite_options options_;
  int schema_version_ = 0;
  job_queue writes_;
  job_queue reads_;
  statistics_counter statistics_;
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::once_flag stopped_;
};

} // namespace parley::store
