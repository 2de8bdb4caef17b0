#pragma once
// Helpers the workloads share (workloads.cpp, sync_workload.cpp): picking users, reading a
// message ack, collecting errors, ending a run, waiting from the main thread.

#include "runner.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace parley::load {

void sleep_for(double seconds);

/// `count` users from `offset` on; throws when the users file has too few.
std::vector<const user*> take_users(const std::vector<user>& users, std::size_t count,
                                    std::size_t offset = 0);

/// The ack of message:send (or message:edit, reaction:set): the message, or why not.
struct send_outcome {
  bool ok = false;
  std::int64_t message_id = 0;
  std::int64_t conversation_id = 0;
  std::string error;
};

send_outcome read_send_ack(const boost::json::value& arguments);

/// A prefix for this run's client ids, unique across runs.
std::string run_prefix(const common_options& options);

/// Errors seen on the generator's threads: counted, and the first one kept for the report.
struct error_log {
  std::atomic<std::uint64_t> count{0};
  std::mutex mutex;
  std::string first;

  void add(std::string_view what);
  std::string first_error();
  void report_to(report& out);
};

/// Ends a workload: the errors go into the report, the report is printed (and written), and
/// a run with errors fails (std::runtime_error).
void finish(report& out, error_log& errors, std::string_view workload);

/// `name_p50_ms`, `name_p99_ms`, … for each quantile asked for.
void add_percentiles(boost::json::object& figures, std::string_view name, latencies& samples,
                     std::initializer_list<double> quantiles);

/// A WebSocket close of each connection, awaited; then the list is empty.
void close_all(std::vector<connection_ptr>& connections);

/// Waits (polling from the main thread) until `done()` holds or `seconds` pass.
bool wait_until(const std::function<bool()>& done, double seconds);

/// The measured window of a workload of loops: `warmup` seconds, then `seconds` with
/// `run.recording` set and the server read before and after; then the loops are told to stop
/// (`run.stopping`) and awaited. What the loops count while recording is the window's work.
template <class Run>
void measure_loops(Run& run, server_meter& meter, double warmup, double seconds,
                   std::vector<std::future<void>>& loops) {
  sleep_for(warmup);
  meter.start();
  run.recording = true;
  sleep_for(seconds);
  run.recording = false;
  meter.stop();
  run.stopping = true;
  for (auto& loop : loops) {
    loop.get();
  }
}

} // namespace parley::load
