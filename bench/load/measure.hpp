#pragma once
// What the load generator measures besides its own clocks: the server process's CPU time and
// memory (from /proc/PID), its /metrics counters, and latency percentiles.

#include "sio_client.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::load {

/// One reading of a process: CPU time (user + system), resident memory, and from
/// /proc/PID/io what it had written to storage and how many read and write system calls of the
/// file layer it made (read, pread, readv; write, pwrite, writev: files, pipes, eventfds, and
/// sockets only when written with write(); send and recv on a socket are not counted).
struct process_sample {
  double cpu_seconds = 0;
  std::uint64_t rss_bytes = 0;
  std::optional<std::uint64_t> disk_write_bytes; // write_bytes: what reached the block layer
  std::optional<std::uint64_t> write_syscalls;   // syscw: write, pwrite, writev
  std::optional<std::uint64_t> read_syscalls;    // syscr: read, pread, readv
};

/// The process's reading, or nullopt when it cannot be read (no such pid). pid 0 = none.
std::optional<process_sample> sample_process(int pid);

/// CPU seconds (user + system) of the process and every descendant, plus what their reaped
/// children used (cutime + cstime): PostgreSQL's postmaster with its backends, say. nullopt
/// when the process cannot be read.
std::optional<double> process_tree_cpu_seconds(int pid);

/// This process's own CPU time (all threads).
double own_cpu_seconds();

/// The values of the samples `names` (a name with its labels as the page writes them, say
/// `x_bucket{le="0.005"}`) in one read of the server's /metrics; nullopt for those not there.
std::vector<std::optional<double>> scrape_metrics(const server_address& server,
                                                  const std::vector<std::string>& names);
/// One sample's value (scrape_metrics).
std::optional<double> scrape_metric(const server_address& server, const std::string& name);

/// Latency samples in microseconds.
class latencies {
public:
  void add(double microseconds) { samples_.push_back(microseconds); }
  void merge(const latencies& other);
  [[nodiscard]] std::size_t count() const { return samples_.size(); }
  /// The q-quantile (0..1) by nearest rank; 0 when empty. Sorts once.
  double quantile(double q);

private:
  std::vector<double> samples_;
  bool sorted_ = false;
};

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace parley::load
