#pragma once
// Server metrics in the Prometheus text format (version 0.0.4): requests by route and
// status, a request latency histogram by route, open connections, and gauges that other
// layers register (store batches, …). Thread-safe.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::http {

class metrics {
public:
  /// Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 12> k_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

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

  [[nodiscard]] std::string render() const;

private:
  struct histogram {
    std::array<std::uint64_t, k_buckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
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
};

} // namespace parley::http
