#include "media/workers.hpp"

#include "support/run_coroutine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <future>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace parley::media {
namespace {

namespace asio = boost::asio;
using parley::testing::run_coroutine;

struct thread_of_call {
  std::thread::id operator()() const { return std::this_thread::get_id(); }
};

// Blocks a worker until released: keeps jobs queued behind it, without sleeping.
struct gate {
  std::shared_ptr<std::promise<void>> entered = std::make_shared<std::promise<void>>();
  std::shared_ptr<std::promise<void>> open = std::make_shared<std::promise<void>>();
  std::shared_future<void> opened = open->get_future().share();
  int operator()() const {
    entered->set_value();
    opened.wait();
    return 1;
  }
};

struct answer {
  int value;
  int operator()() const { return value; }
};

struct failing {
  int operator()() const { throw std::runtime_error("the job failed"); }
};

TEST(worker_pool, runs_the_job_off_the_caller_thread_and_resumes_the_caller_on_its_executor) {
  worker_pool pool({.threads = 2, .queue_limit = 4});
  asio::io_context context;
  std::thread::id caller;
  std::thread::id worker;
  std::thread::id resumed;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        caller = std::this_thread::get_id();
        const auto ran_on = co_await pool.run(thread_of_call{});
        EXPECT_TRUE(ran_on.has_value());
        worker = *ran_on;
        resumed = std::this_thread::get_id();
      },
      asio::detached);
  context.run();
  EXPECT_NE(worker, caller);
  EXPECT_EQ(resumed, caller);
}

TEST(worker_pool, returns_the_result) {
  worker_pool pool({});
  const auto result = run_coroutine([&pool]() -> asio::awaitable<std::expected<int, pool_error>> {
    co_return co_await pool.run(answer{42});
  }());
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, 42);
}

TEST(worker_pool, rethrows_the_job_s_exception_in_the_caller) {
  worker_pool pool({});
  EXPECT_THROW(run_coroutine([&pool]() -> asio::awaitable<std::expected<int, pool_error>> {
                 co_return co_await pool.run(failing{});
               }()),
               std::runtime_error);
}

TEST(worker_pool, a_full_queue_fails_fast_with_busy) {
  worker_pool pool({.threads = 1, .queue_limit = 2});
  asio::io_context context;
  const gate blocker;
  std::vector<std::expected<int, pool_error>> results;
  std::optional<pool_error> refused;

  // The gate occupies the only worker; two more jobs fill the queue; the fourth is refused
  // at once, while the others are still waiting.
  asio::co_spawn(
      context, [&]() -> asio::awaitable<void> { results.push_back(co_await pool.run(blocker)); },
      asio::detached);
  context.poll(); // the coroutine runs up to its co_await: the gate job is submitted
  blocker.entered->get_future().wait();
  for (int index = 0; index < 2; ++index) {
    asio::co_spawn(
        context,
        [&, index]() -> asio::awaitable<void> {
          results.push_back(co_await pool.run(answer{index}));
        },
        asio::detached);
  }
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        const auto result = co_await pool.run(answer{99});
        EXPECT_FALSE(result);
        refused = result.error();
        blocker.open->set_value(); // only now let the worker go on
      },
      asio::detached);
  context.run();

  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, pool_error::busy);
  ASSERT_EQ(results.size(), 3U);
  for (const auto& result : results) {
    EXPECT_TRUE(result);
  }
  EXPECT_EQ(pool.stats().refused, 1U);
  EXPECT_EQ(pool.stats().queued, 0U);
}

TEST(worker_pool, after_stop_calls_fail_with_stopped) {
  worker_pool pool({});
  pool.stop();
  const auto result = run_coroutine([&pool]() -> asio::awaitable<std::expected<int, pool_error>> {
    co_return co_await pool.run(answer{1});
  }());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), pool_error::stopped);
}

TEST(worker_pool, stop_finishes_every_queued_job) {
  asio::io_context context;
  int finished = 0;
  {
    worker_pool pool({.threads = 1, .queue_limit = 16});
    const gate blocker;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> { finished += (co_await pool.run(blocker)).value_or(0); },
        asio::detached);
    context.poll();
    blocker.entered->get_future().wait();
    for (int index = 0; index < 10; ++index) {
      asio::co_spawn(
          context,
          [&]() -> asio::awaitable<void> {
            finished += (co_await pool.run(answer{1})).value_or(0);
          },
          asio::detached);
    }
    context.poll(); // each coroutine runs up to its co_await: ten jobs queued
    ASSERT_EQ(pool.stats().queued, 10U);
    std::jthread release([&blocker] { blocker.open->set_value(); });
    pool.stop(); // waits for the gate, then runs the ten queued jobs
    EXPECT_EQ(pool.stats().queued, 0U);
  }
  context.run();
  EXPECT_EQ(finished, 11);
}

TEST(worker_pool, many_callers_on_several_threads_all_get_their_answer) {
  worker_pool pool({.threads = 2, .queue_limit = 1000});
  asio::io_context first;
  asio::io_context second;
  std::atomic<int> sum = 0;
  for (int index = 1; index <= 200; ++index) {
    asio::co_spawn(
        index % 2 == 0 ? first : second,
        [&, index]() -> asio::awaitable<void> {
          const auto result = co_await pool.run(answer{index});
          sum += result.value_or(-100000);
        },
        asio::detached);
  }
  std::jthread other([&second] { second.run(); });
  first.run();
  other.join();
  EXPECT_EQ(sum.load(), 200 * 201 / 2);
}

} // namespace
} // namespace parley::media
