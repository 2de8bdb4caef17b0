#pragma once
// What every workload shares: the users to sign in as, the generator's threads, connecting
// many Socket.IO clients at once, and the result (one table row, one JSON file).

#include "measure.hpp"
#include "sio_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parley::load {

struct user {
  std::int64_t id = 0;
  std::string token;
};

/// The users file: one `ID TOKEN` per line. Throws std::runtime_error.
std::vector<user> read_users(const std::string& path);

/// A process watched beside the server (a database, a bus): its CPU time, children included.
struct watched_process {
  std::string name; ///< Figures are `NAME_cpu_us_per_UNIT` and `NAME_cpu_cores`.
  int pid = 0;
};

struct common_options {
  server_address server;
  /// Where the receiving side connects (the throughput workload's receivers), when it is
  /// another node of the same cluster; nullopt = `server`.
  std::optional<server_address> receiver_server;
  std::string users_file;
  int server_pid = 0; ///< For CPU and memory readings; 0 = none.
  /// Further server processes (the other nodes): their CPU and memory are added.
  std::vector<int> more_server_pids;
  /// Further nodes without clients of this run, whose /metrics counters are added.
  std::vector<server_address> more_metrics_servers;
  /// Other processes whose CPU is reported per unit of work, each with its descendants.
  std::vector<watched_process> watched;
  bool metrics = false; ///< Read the server's /metrics (Parley's store counters).
  unsigned threads = 1; ///< Generator threads, each with its own io_context.
  /// A connection's frames sent while one handler runs leave in one write (sio_connection);
  /// default: each frame is written when it is sent, as the official client does.
  bool gather_writes = false;
  unsigned connect_concurrency = 200;
  unsigned source_addresses = 1; ///< >1: connect from 127.0.0.1 … 127.0.0.N in turn.
  std::string label = "server";
  std::string json_path; ///< Where to write the result; empty = nowhere.
};

/// The generator's threads: connection i lives on context(i % threads).
class thread_pool {
public:
  explicit thread_pool(unsigned threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  boost::asio::io_context& context(std::size_t index) {
    return *contexts_[index % contexts_.size()];
  }
  [[nodiscard]] std::size_t size() const { return contexts_.size(); }
  /// Runs `function` on every thread and waits for it (a barrier with the threads' state).
  void on_each(const std::function<void(std::size_t thread)>& function);

private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

using connection_ptr = std::shared_ptr<sio_connection>;

/// Opens one connection per user in `users` (connection i on pool context i), at most
/// `concurrency` handshakes at a time, to `servers[i]` when given (else `options.server`).
/// Throws std::runtime_error naming the first failure.
std::vector<connection_ptr> connect_all(thread_pool& pool, const common_options& options,
                                        const std::vector<const user*>& users,
                                        const std::vector<server_address>& servers = {});

/// The result of one workload run against one server.
class report {
public:
  report(std::string workload, const common_options& options);
  boost::json::object& parameters() { return parameters_; }
  boost::json::object& figures() { return figures_; }
  /// Prints `label workload key=value …` and writes the JSON file when asked.
  void finish();

private:
  std::string workload_;
  const common_options& options_;
  boost::json::object parameters_;
  boost::json::object figures_;
};

/// Reads the server processes (every node), the watched processes and the servers' /metrics
/// before and after a measured window.
class server_meter {
public:
  explicit server_meter(const common_options& options) : options_(options) {}
  void start();
  void stop();
  /// Server CPU seconds spent in the window, summed over the nodes (nullopt without a pid).
  [[nodiscard]] std::optional<double> cpu_seconds() const;
  /// Each node's CPU seconds in the window, in the order of the pids given.
  [[nodiscard]] std::vector<double> cpu_seconds_by_node() const;
  /// Bytes written to storage in the window, summed over the nodes (/proc/PID/io write_bytes).
  [[nodiscard]] std::optional<double> disk_write_bytes() const;
  /// Write and read system calls of the file layer in the window (process_sample), summed over
  /// the nodes.
  [[nodiscard]] std::optional<double> write_syscalls() const;
  [[nodiscard]] std::optional<double> read_syscalls() const;
  /// RSS summed over the nodes at the end.
  [[nodiscard]] std::optional<std::uint64_t> rss_bytes() const;
  /// Store commits in the window (Parley's parley_store_write_batches_total, all nodes).
  [[nodiscard]] std::optional<double> commits() const;
  /// Store write jobs in the window (Parley's parley_store_write_jobs_total, all nodes).
  [[nodiscard]] std::optional<double> write_jobs() const;
  /// The growth of any counter in /metrics over the window, summed over the nodes.
  [[nodiscard]] std::optional<double> counter(const std::string& name) const;
  /// Each watched process's CPU seconds in the window (descendants included).
  [[nodiscard]] std::vector<std::pair<std::string, double>> watched_cpu_seconds() const;
  [[nodiscard]] double wall_seconds() const { return wall_seconds_; }
  [[nodiscard]] double generator_cpu_seconds() const { return own_after_ - own_before_; }

private:
  using counters = std::map<std::string, std::optional<double>>;
  [[nodiscard]] std::vector<int> server_pids() const;
  [[nodiscard]] counters read_counters() const;

  const common_options& options_;
  std::vector<std::optional<process_sample>> before_, after_;
  std::vector<std::optional<double>> watched_before_, watched_after_;
  counters counters_before_, counters_after_;
  std::int64_t started_ns_ = 0;
  double wall_seconds_ = 0;
  double own_before_ = 0, own_after_ = 0;
};

/// Adds the usual figures of a measured window: server CPU per `unit` (µs), RSS, the
/// generator's own CPU share.
void add_server_figures(report& out, const server_meter& meter, double units,
                        const std::string& unit);

/// Rounds to `digits` decimals for the report.
double rounded(double value, int digits = 1);

} // namespace parley::load
