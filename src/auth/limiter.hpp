#pragma once
// Sliding-window rate limits: at most `limit` events per `window` for each key (a phone
// number, a client address). Thread-safe. Memory stays bounded: a key holds at most
// `limit` timestamps, and keys whose window has passed are swept as the map grows.
//
// This is per process: limits reset on restart, and a cluster of nodes would need a shared
// implementation (Redis) behind the same interface.

#include "common/clock.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::auth {

class sliding_window_limiter {
public:
  sliding_window_limiter(std::size_t limit, std::chrono::milliseconds window);

  /// How long until `key` may have one more event; nullopt when it may now.
  [[nodiscard]] std::optional<std::chrono::milliseconds> wait_time(std::string_view key,
                                                                   unix_ms now);
  /// Records one event for `key`.
  void record(std::string_view key, unix_ms now);
  /// Takes back an event recorded at `at` (the action it stood for did not happen).
  void forget(std::string_view key, unix_ms at);

  [[nodiscard]] std::size_t key_count() const;

private:
  void prune(std::deque<unix_ms>& events, unix_ms now) const;
  void sweep(unix_ms now); // requires mutex_

  std::size_t limit_;
  std::chrono::milliseconds window_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::deque<unix_ms>> events_; // guarded by mutex_
  std::size_t sweep_at_ = 1024;                                 // guarded by mutex_
};

} // namespace parley::auth
