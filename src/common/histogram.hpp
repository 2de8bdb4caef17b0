#pragma once
// A latency histogram with fixed buckets, as Prometheus shows one: for each upper bound the
// observations at or under it (cumulative), their count and their sum. A plain value: whoever
// records into it guards it.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace parley::common {

struct latency_histogram {
  /// Upper bounds of the buckets, in seconds.
  static constexpr std::array<double, 12> k_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  std::array<std::uint64_t, k_bounds.size()> buckets{}; ///< Observations ≤ k_bounds[i].
  std::uint64_t count = 0;
  double sum = 0; ///< Seconds.

  void record(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    for (std::size_t index = 0; index < k_bounds.size(); ++index) {
      if (seconds <= k_bounds[index]) {
        ++buckets[index];
      }
    }
    ++count;
    sum += seconds;
  }
};

} // namespace parley::common
