#pragma once
// A commit timed, for the commit histogram and the slow-commit log (--slow-commit): when a
// commit takes longer than the setting, one line says how long each of its stages took and
// where its thread's time went meanwhile: on a CPU, runnable and waiting for one, or neither
// (asleep: the disk's flush, a lock, the network; or, on a virtual machine, the CPU taken by
// the host). Internal to the store.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::store {

/// The calling thread's time so far on a CPU (CLOCK_THREAD_CPUTIME_ID) and runnable but
/// waiting for one (the kernel's /proc/thread-self/schedstat); `known` is false where they
/// cannot be read.
struct thread_times {
  std::chrono::nanoseconds on_cpu{0};
  std::chrono::nanoseconds waiting{0};
  bool known = false;
};
[[nodiscard]] thread_times this_thread_times();

/// " on_cpu_ms=… waiting_for_cpu_ms=… asleep_or_stolen_ms=…" for a span of `took` between two
/// readings of this_thread_times() (the rest of `took` is neither: asleep, or on a virtual
/// machine the CPU taken by its host); empty if either is not known.
[[nodiscard]] std::string thread_time_fields(const thread_times& before, const thread_times& after,
                                             std::chrono::nanoseconds took);

class commit_timing {
public:
  using clock = std::chrono::steady_clock;
  enum class stage : std::uint8_t {
    begin,  ///< The transaction opened (SQLite: the write lock taken).
    jobs,   ///< The jobs ran (SQLite: their statements; PostgreSQL: sent, mostly unanswered).
    commit, ///< COMMIT returned: on disk (SQLite: the WAL's writes and flush; PostgreSQL: every
            ///< answer and the server's flush).
  };

  /// Starts timing now. With `slow` positive the thread's times are read too, and finish()
  /// logs the commit if it took longer than `slow`; zero: the stages are not timed.
  explicit commit_timing(std::chrono::microseconds slow);

  /// Marks the end of `reached`; a transaction run again (a savepoint per job) marks its
  /// stages again, and the first run counts in the second's `begin`.
  void mark(stage reached) {
    if (slow_.count() > 0) {
      at_[static_cast<std::size_t>(reached)] = clock::now();
      passes_ += reached == stage::begin ? 1 : 0;
    }
  }

  [[nodiscard]] clock::duration elapsed() const { return clock::now() - started_; }

  /// At the end of a commit of `jobs` jobs on `engine`: the line for the slow-commit log if it
  /// took longer than the setting (the stages not marked count as zero), else empty.
  [[nodiscard]] std::string slow_line(std::size_t jobs, std::string_view engine,
                                      bool flushed) const;

  /// Logs slow_line() as a warning, if it is not empty.
  void finish(std::size_t jobs, std::string_view engine, bool flushed) const;

private:
  std::chrono::microseconds slow_;
  clock::time_point started_;
  clock::time_point at_[3]{};
  int passes_ = 0;
  thread_times times_;
};

} // namespace parley::store
