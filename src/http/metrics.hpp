#pragma once
// Server metrics in the Prometheus text format (version 0.0.4): requests by route and
// status, a request latency histogram by route, open connections, and values and histograms
// that other layers register (store batches and commits, …). Thread-safe.

#include "common/histogram.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace parley::http {

class metrics {
public:
  /// `route` is the route's pattern ("/api/v1/me"), never the raw path: labels stay bounded.
  void record_request(std::string_view route, std::string_view method, unsigned status,
                      std::chrono::nanoseconds latency);
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }

  /// A value read at each scrape. `kind` is "gauge" or "counter".
  void add_sampled(std::string name, std::string help, std::string kind,
                   std::function<double()> sample);

  /// Values read at each scrape, one per value of one label (say status="410"); none shown
  /// while the function returns none.
  using labelled_values = std::vector<std::pair<std::string, double>>;
  void add_sampled_family(std::string name, std::string help, std::string kind,
                          std::string label_name, std::function<labelled_values()> sample);

  /// A histogram read at each scrape (its buckets: common::latency_histogram::k_bounds).
  void add_sampled_histogram(std::string name, std::string help,
                             std::function<common::latency_histogram()> sample);

  [[nodiscard]] std::string render() const;

private:
  using histogram = common::latency_histogram;
  struct sampled {
    std::string name;
    std::string help;
    std::string kind;
    std::function<double()> sample;
  };

  std::atomic<std::int64_t> open_connections_{0};
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_; // guarded by mutex_
  std::map<std::string, histogram, std::less<>> latency_;                             // guarded by mutex_
  std::vector<sampled> sampled_;                                                      // guarded by mutex_
  struct sampled_family {
    std::string name;
    std::string help;
    std::string kind;
    std::string label_name;
    std::function<labelled_values()> sample;
  };
  std::vector<sampled_family> families_; // guarded by mutex_
  struct sampled_histogram {
    std::string name;
    std::string help;
    std::function<histogram()> sample;
  };
  std::vector<sampled_histogram> histograms_; // guarded by mutex_
};

} // namespace parley::http
