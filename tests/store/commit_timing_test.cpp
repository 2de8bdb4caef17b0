// The slow-commit log (commit_timing.hpp): a commit's stages and its thread's times, and the
// line both engines log for a commit over --slow-commit.

#include "store/commit_timing.hpp"
#include "store/engines.hpp"

#include "support/log_capture.hpp"

#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parley::store {
namespace {

using clock = std::chrono::steady_clock;
constexpr std::chrono::microseconds k_always{1}; // every commit takes longer than this

// Keeps the calling thread busy (on a CPU or waiting for one, never asleep) for `span`.
void compute_for(std::chrono::milliseconds span) {
  const auto until = clock::now() + span;
  std::atomic<std::uint64_t> turns{0};
  while (clock::now() < until) {
    turns.fetch_add(1, std::memory_order_relaxed);
  }
}

// The line's key=value fields.
std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> result;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    if (const auto equals = word.find('='); equals != std::string::npos) {
      result[word.substr(0, equals)] = word.substr(equals + 1);
    }
  }
  return result;
}

double number(const std::map<std::string, std::string>& line, const std::string& key) {
  const auto found = line.find(key);
  if (found == line.end()) {
    ADD_FAILURE() << "no " << key;
    return -1;
  }
  return std::stod(found->second);
}

// A thread's state letter from /proc (R running, S asleep, ...).
char state_of(pid_t thread) {
  std::ifstream stat("/proc/self/task/" + std::to_string(thread) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? '?' : text[close + 2];
}

TEST(commit_timing, without_a_threshold_nothing_is_timed_or_logged) {
  commit_timing timing(std::chrono::microseconds(0));
  timing.mark(commit_timing::stage::begin);
  compute_for(std::chrono::milliseconds(2));
  timing.mark(commit_timing::stage::commit);
  EXPECT_EQ(timing.slow_line(1, "sqlite", true), "");
  EXPECT_GE(timing.elapsed(), std::chrono::milliseconds(2)); // the histogram's time is kept
}

TEST(commit_timing, a_commit_within_the_threshold_is_not_logged) {
  commit_timing timing(std::chrono::hours(1));
  timing.mark(commit_timing::stage::begin);
  timing.mark(commit_timing::stage::jobs);
  timing.mark(commit_timing::stage::commit);
  EXPECT_EQ(timing.slow_line(1, "sqlite", true), "");
}

TEST(commit_timing, each_stage_is_timed_from_the_end_of_the_one_before) {
  commit_timing timing(k_always);
  compute_for(std::chrono::milliseconds(2));
  timing.mark(commit_timing::stage::begin);
  compute_for(std::chrono::milliseconds(6));
  timing.mark(commit_timing::stage::jobs);
  compute_for(std::chrono::milliseconds(4));
  timing.mark(commit_timing::stage::commit);
  const auto line = timing.slow_line(3, "sqlite", false);
  ASSERT_EQ(line.rfind("store.slow_commit ", 0), 0U) << line;
  const auto got = fields(line);
  EXPECT_EQ(got.at("engine"), "sqlite");
  EXPECT_EQ(got.at("jobs"), "3");
  EXPECT_EQ(got.at("flush"), "no");
  EXPECT_EQ(got.at("runs"), "1");
  EXPECT_GE(number(got, "begin_ms"), 2.0);
  EXPECT_GE(number(got, "jobs_ms"), 6.0);
  EXPECT_GE(number(got, "commit_ms"), 4.0);
  const double took = number(got, "took_ms");
  EXPECT_LE(number(got, "begin_ms") + number(got, "jobs_ms") + number(got, "commit_ms"),
            took + 0.002); // each printed to the microsecond
  // Computing, the thread was never asleep; its CPU time is this commit's, not its life's.
  EXPECT_GT(number(got, "on_cpu_ms"), 0.0);
  EXPECT_LE(number(got, "on_cpu_ms"), took + 0.001);
  EXPECT_LE(number(got, "on_cpu_ms") + number(got, "waiting_for_cpu_ms"), took + 0.002);
}

TEST(commit_timing, a_stage_run_again_counts_its_first_run_in_the_second_begin) {
  commit_timing timing(k_always);
  timing.mark(commit_timing::stage::begin);
  compute_for(std::chrono::milliseconds(3)); // a first run's jobs, one of them failing
  timing.mark(commit_timing::stage::begin);
  timing.mark(commit_timing::stage::jobs);
  timing.mark(commit_timing::stage::commit);
  const auto got = fields(timing.slow_line(2, "postgres", true));
  EXPECT_EQ(got.at("runs"), "2");
  EXPECT_EQ(got.at("flush"), "yes");
  EXPECT_GE(number(got, "begin_ms"), 3.0);
  EXPECT_LT(number(got, "jobs_ms"), 3.0);
}

TEST(commit_timing, a_thread_blocked_meanwhile_is_counted_asleep) {
  commit_timing timing(k_always);
  std::promise<void> released;
  std::atomic<pid_t> waiter{0};
  std::thread other([&] {
    // Once this thread is asleep in its wait, another 5 ms pass before it is let go.
    while (waiter.load() == 0 || state_of(waiter.load()) != 'S') {
      std::this_thread::yield();
    }
    compute_for(std::chrono::milliseconds(5));
    released.set_value();
  });
  waiter = static_cast<pid_t>(::syscall(SYS_gettid));
  released.get_future().wait();
  other.join();
  timing.mark(commit_timing::stage::commit);
  const auto got = fields(timing.slow_line(1, "sqlite", true));
  EXPECT_GE(number(got, "asleep_or_stolen_ms"), 5.0 - 0.002);
  EXPECT_GE(number(got, "commit_ms"), 5.0);
}

TEST(commit_timing, a_thread_that_shares_its_cpu_waits_for_it) {
  // Two threads computing on one CPU: each is runnable while the other runs.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int first = 0;
  while (!CPU_ISSET(first, &allowed)) {
    ++first;
  }
  std::promise<void> start;
  const std::shared_future<void> go = start.get_future().share();
  const auto on_one_cpu = [first, go] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) {
      return thread_times{};
    }
    go.wait();
    const auto before = this_thread_times();
    compute_for(std::chrono::milliseconds(40));
    auto after = this_thread_times();
    after.on_cpu -= before.on_cpu;
    after.waiting -= before.waiting;
    after.known = after.known && before.known;
    return after;
  };
  auto a = std::async(std::launch::async, on_one_cpu);
  auto b = std::async(std::launch::async, on_one_cpu);
  start.set_value();
  const auto a_times = a.get();
  const auto b_times = b.get();
  ASSERT_TRUE(a_times.known && b_times.known);
  EXPECT_GT(a_times.waiting + b_times.waiting, std::chrono::nanoseconds(0));
  EXPECT_GT(a_times.on_cpu, std::chrono::nanoseconds(0));
  EXPECT_GT(b_times.on_cpu, std::chrono::nanoseconds(0));
}

// Both engines log a commit over the threshold, from the thread that made it.
class slow_commit_log : public ::testing::TestWithParam<conformance::engine> {
protected:
  std::unique_ptr<conformance::test_store> store_ = conformance::test_store::make(GetParam());
};
PARLEY_STORE_ENGINES(slow_commit_log);

// The slow-commit lines logged while `opened` committed one write and one deferrable write.
std::vector<std::string> lines_for_two_commits(std::unique_ptr<database> opened) {
  static std::atomic<int> users{0};
  const testing::log_capture log;
  for (const bool deferrable : {false, true}) {
    auto work =
        conformance::insert_user_job("+1415555" + std::to_string(1000 + users++), deferrable);
    auto outcome = work->outcome();
    opened->submit_write(std::move(work));
    EXPECT_EQ(outcome.get(), nullptr);
  }
  opened->stop();
  std::vector<std::string> lines;
  std::istringstream text(log.text());
  for (std::string line; std::getline(text, line);) {
    if (line.find("store.slow_commit") != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

TEST_P(slow_commit_log, logs_each_commit_over_the_threshold_with_its_stages) {
  const auto lines =
      lines_for_two_commits(store_->open(1, std::chrono::milliseconds(20), k_always));
  ASSERT_EQ(lines.size(), 2U);
  const std::string engine = GetParam() == conformance::engine::sqlite ? "sqlite" : "postgres";
  for (std::size_t index = 0; index < lines.size(); ++index) {
    EXPECT_EQ(lines[index].rfind("warning store.slow_commit ", 0), 0U) << lines[index];
    const auto got = fields(lines[index]);
    EXPECT_EQ(got.at("engine"), engine);
    EXPECT_EQ(got.at("thread"), "store-writer");
    EXPECT_EQ(got.at("jobs"), "1");
    EXPECT_EQ(got.at("flush"), index == 0 ? "yes" : "no") << "the deferrable one needs none";
    EXPECT_EQ(got.at("runs"), "1");
    EXPECT_GT(number(got, "commit_ms"), 0.0);
    for (const auto* key : {"took_ms", "begin_ms", "jobs_ms", "on_cpu_ms", "waiting_for_cpu_ms",
                            "asleep_or_stolen_ms"}) {
      EXPECT_GE(number(got, key), 0.0) << key;
    }
  }
}

TEST_P(slow_commit_log, logs_nothing_without_a_threshold_or_under_it) {
  EXPECT_TRUE(lines_for_two_commits(store_->open(1)).empty());
  EXPECT_TRUE(
      lines_for_two_commits(store_->open(1, std::chrono::milliseconds(20), std::chrono::hours(1)))
          .empty());
}

} // namespace
} // namespace parley::store
