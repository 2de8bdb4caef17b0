#include "store/commit_timing.hpp"

#include "common/thread_name.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace parley::store {
namespace {

// This thread's schedstat file, open while the thread lives.
class schedstat_file {
public:
  schedstat_file() : fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
  ~schedstat_file() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  schedstat_file(const schedstat_file&) = delete;
  schedstat_file& operator=(const schedstat_file&) = delete;

  // "<ns on a CPU> <ns runnable, waiting> <slices>\n": the first is brought up to date only
  // at the scheduler's ticks and switches (CLOCK_THREAD_CPUTIME_ID is exact); the second is
  // exact for a running thread.
  std::optional<std::chrono::nanoseconds> waiting() const {
    std::array<char, 96> text{};
    const auto got = fd_ >= 0 ? ::pread(fd_, text.data(), text.size() - 1, 0) : -1;
    if (got <= 0) {
      return std::nullopt;
    }
    const char* const end = text.data() + got;
    const char* const space = std::find(std::as_const(text).data(), end, ' ');
    std::int64_t value = 0;
    if (space == end || std::from_chars(space + 1, end, value).ec != std::errc{}) {
      return std::nullopt;
    }
    return std::chrono::nanoseconds(value);
  }

private:
  int fd_;
};

double milliseconds(std::chrono::nanoseconds span) {
  return std::chrono::duration<double, std::milli>(span).count();
}

} // namespace

thread_times this_thread_times() {
  static thread_local const schedstat_file file;
  thread_times times;
  timespec cpu{};
  const auto waiting = file.waiting();
  if (!waiting || ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) != 0) {
    return times;
  }
  times.on_cpu = std::chrono::seconds(cpu.tv_sec) + std::chrono::nanoseconds(cpu.tv_nsec);
  times.waiting = *waiting;
  times.known = true;
  return times;
}

slow_span::slow_span(std::chrono::microseconds slow) : slow_(slow), started_(clock::now()) {
  if (timed()) {
    times_ = this_thread_times();
  }
}

std::optional<slow_span::over> slow_span::ended() const {
  if (!timed() || elapsed() <= slow_) {
    return std::nullopt;
  }
  // The thread's times before the end, so that they span no more than `took` does.
  const auto now = times_.known ? this_thread_times() : thread_times{};
  const std::chrono::nanoseconds took = elapsed();
  over result{milliseconds(took), {}};
  if (now.known) {
    // What is neither on a CPU nor waiting for one was spent asleep, or, on a virtual machine,
    // with the CPU taken by the host (steal time counts as neither).
    const auto on_cpu = now.on_cpu - times_.on_cpu;
    const auto waiting = now.waiting - times_.waiting;
    const auto rest = std::max(std::chrono::nanoseconds(0), took - on_cpu - waiting);
    result.thread_fields =
        fmt::format(" on_cpu_ms={:.3f} waiting_for_cpu_ms={:.3f} asleep_or_stolen_ms={:.3f}",
                    milliseconds(on_cpu), milliseconds(waiting), milliseconds(rest));
  }
  return result;
}

std::string commit_timing::slow_line(std::size_t jobs, std::string_view engine,
                                     bool flushed) const {
  const auto over = span_.ended();
  if (!over) {
    return {};
  }
  // Each stage from the end of the one before it (or the start); one not marked is zero.
  std::array<std::chrono::nanoseconds, 3> stages{};
  auto previous = span_.started();
  for (std::size_t index = 0; index < stages.size(); ++index) {
    if (at_[index] != clock::time_point{}) {
      stages[index] = at_[index] - previous;
      previous = at_[index];
    }
  }
  return fmt::format("store.slow_commit engine={} thread={} jobs={} flush={} took_ms={:.3f} "
                     "begin_ms={:.3f} jobs_ms={:.3f} commit_ms={:.3f} runs={}{}",
                     engine, common::this_thread_name(), jobs, flushed ? "yes" : "no",
                     over->took_ms, milliseconds(stages[0]), milliseconds(stages[1]),
                     milliseconds(stages[2]), passes_, over->thread_fields);
}

void commit_timing::finish(std::size_t jobs, std::string_view engine, bool flushed) const {
  if (const auto line = slow_line(jobs, engine, flushed); !line.empty()) {
    spdlog::warn("{}", line);
  }
}

} // namespace parley::store
