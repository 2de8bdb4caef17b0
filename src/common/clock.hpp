#pragma once
// Time sources. Domain code takes a `clock&` so that tests can set the time.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace parley {

/// Milliseconds since the Unix epoch: the unit of every `*_at` in the API and the store.
using unix_ms = std::int64_t;

/// A wait as a Retry-After value: whole seconds, rounded up, at least one.
[[nodiscard]] inline std::chrono::seconds retry_after_seconds(std::chrono::milliseconds wait) {
  return std::chrono::seconds(std::max<std::int64_t>(1, (wait.count() + 999) / 1000));
}

/// A source of wall-clock time. Implementations are thread-safe.
class clock {
public:
  virtual ~clock() = default;
  [[nodiscard]] virtual unix_ms now_ms() const = 0;
};

/// The real wall clock.
class system_clock final : public clock {
public:
  [[nodiscard]] unix_ms now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// A clock that only moves when told to: for tests.
class manual_clock final : public clock {
public:
  explicit manual_clock(unix_ms start = 1'764'000'000'000) : now_(start) {}
  [[nodiscard]] unix_ms now_ms() const override { return now_.load(); }
  void set(unix_ms now) { now_.store(now); }
  void advance(std::chrono::milliseconds by) { now_.fetch_add(by.count()); }

private:
  std::atomic<unix_ms> now_;
};

} // namespace parley
