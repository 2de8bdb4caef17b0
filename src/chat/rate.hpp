#pragma once
// Token buckets per key: `burst` events at once, then `rate` per second. Thread-safe; memory
// stays bounded (buckets that have refilled are swept as the map grows).

#include "common/clock.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace parley::chat {

class token_buckets {
public:
  /// `rate` 0: no limit.
  token_buckets(double rate, double burst);

  /// Takes one token for `key`; when there is none, how long until there is.
  [[nodiscard]] std::optional<std::chrono::milliseconds> take(std::int64_t key, unix_ms now);

  [[nodiscard]] std::size_t key_count() const;

private:
  struct bucket {
    double tokens;
    unix_ms updated;
  };
  void refill(bucket& state, unix_ms now) const;

  double rate_; // tokens per millisecond
  double burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, bucket> buckets_; // guarded by mutex_
  std::size_t sweep_at_ = 1024;                      // guarded by mutex_
};

} // namespace parley::chat
