#pragma once
// A commit timed, for the commit histogram and the slow-commit log (--slow-commit): when a
// commit takes longer than the setting, one line says how long each of its stages took and
// where its thread's time went meanwhile: on a CPU, runnable and waiting for one, or neither
// (asleep: the disk's flush, a lock, the network; or, on a virtual machine, the CPU taken by
// the host). Internal to the store.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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

/// A span of the calling thread's work, timed from its start, that says where the thread's
/// time went once it has taken longer than a threshold: for the slow-commit and
/// slow-checkpoint lines. Ended on the thread that started it.
class slow_span {
public:
  using clock = std::chrono::steady_clock;

  /// Starts now. With `slow` positive the thread's times are read too; zero: only the start.
  explicit slow_span(std::chrono::microseconds slow);

  [[nodiscard]] bool timed() const { return slow_.count() > 0; }
  [[nodiscard]] clock::time_point started() const { return started_; }
  [[nodiscard]] clock::duration elapsed() const { return clock::now() - started_; }

  struct over {
    double took_ms;
    /// " on_cpu_ms=… waiting_for_cpu_ms=… asleep_or_stolen_ms=…" (the rest of `took_ms` is
    /// neither: asleep, or on a virtual machine the CPU taken by its host); empty where the
    /// thread's times cannot be read.
    std::string thread_fields;
  };
  /// If timed and longer than the threshold by now: how long, and where the time went.
  [[nodiscard]] std::optional<over> ended() const;

private:
  std::chrono::microseconds slow_;
  clock::time_point started_;
  thread_times times_;
};

class commit_timing {
public:
  using clock = slow_span::clock;
  enum class stage : std::uint8_t {
    begin,  ///< The transaction opened (SQLite: the write lock taken).
    jobs,   ///< The jobs ran (SQLite: their statements; PostgreSQL: sent, mostly unanswered).
    commit, ///< COMMIT returned: on disk (SQLite: the WAL's writes and flush; PostgreSQL: every
            ///< answer and the server's flush).
  };

  /// Starts timing now. With `slow` positive the thread's times are read too, and finish()
  /// logs the commit if it took longer than `slow`; zero: the stages are not timed.
  explicit commit_timing(std::chrono::microseconds slow) : span_(slow) {}

  /// Marks the end of `reached`; a transaction run again (a savepoint per job) marks its
  /// stages again, and the first run counts in the second's `begin`.
  void mark(stage reached) {
    if (span_.timed()) {
      at_[static_cast<std::size_t>(reached)] = clock::now();
      passes_ += reached == stage::begin ? 1 : 0;
    }
  }

  [[nodiscard]] clock::duration elapsed() const { return span_.elapsed(); }

  /// At the end of a commit of `jobs` jobs on `engine`: the line for the slow-commit log if it
  /// took longer than the setting (the stages not marked count as zero), else empty.
  [[nodiscard]] std::string slow_line(std::size_t jobs, std::string_view engine,
                                      bool flushed) const;

  /// Logs slow_line() as a warning, if it is not empty.
  void finish(std::size_t jobs, std::string_view engine, bool flushed) const;

private:
  slow_span span_;
  clock::time_point at_[3]{};
  int passes_ = 0;
};

} // namespace parley::store
