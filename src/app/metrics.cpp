#include "app/metrics.hpp"

namespace parley::app {

void add_store_metrics(http::metrics& counters, store::database& database) {
  counters.add_sampled("parley_store_write_jobs_total", "Jobs completed by the store's writer.",
                       "counter", [&database] { return double(database.stats().write_jobs); });
  counters.add_sampled("parley_store_write_batches_total",
                       "Transactions committed by the store's writer (group commits).", "counter",
                       [&database] { return double(database.stats().write_batches); });
  counters.add_sampled("parley_store_write_batches_here_total",
                       "Of those, transactions committed by an I/O thread itself (a light load, "
                       "within --io-thread-commit-budget).",
                       "counter",
                       [&database] { return double(database.stats().write_batches_here); });
  counters.add_sampled("parley_store_read_jobs_total", "Reads completed by the store.", "counter",
                       [&database] { return double(database.stats().read_jobs); });
  counters.add_sampled("parley_store_reads_here_total",
                       "Of those, reads run on the I/O thread that asked for them.", "counter",
                       [&database] { return double(database.stats().reads_here); });
  counters.add_sampled("parley_store_reads_moved_total",
                       "Reads started on an I/O thread and moved to a reader thread (over "
                       "--io-thread-read-budget, or waiting for a lock).",
                       "counter", [&database] { return double(database.stats().reads_moved); });
  counters.add_sampled_histogram(
      "parley_store_commit_seconds",
      "How long each transaction of the store's writer took, from taking its jobs to its "
      "commit's return (the flush to disk included), before they complete.",
      [&database] { return database.stats().commits; });
  counters.add_sampled_family(
      "parley_store_checkpoints_total",
      "SQLite's checkpoints of the WAL into the database file, by the thread that ran them (none "
      "on PostgreSQL).",
      "counter", "thread", [&database]() -> http::metrics::labelled_values {
        const auto counted = database.stats();
        if (counted.checkpoints + counted.writer_checkpoints == 0) {
          return {};
        }
        return {{"checkpointer", double(counted.checkpoints)},
                {"writer", double(counted.writer_checkpoints)}};
      });
}

} // namespace parley::app
