#pragma once
// A small, bounded pool of threads for blocking work (decoding images, hashing big files):
// what must never run on an I/O thread.
//
// `co_await pool.run(function)` queues `function()` and resumes the caller on its own executor
// (the coroutine's, like store::database) with the function's result once a worker has run it;
// an exception thrown by the function is rethrown in the caller. When `queue_limit` jobs are
// already waiting (running ones not counted), run() does not queue: it returns
// `pool_error::busy` at once, without waiting, so that an endpoint can answer 429/503 rather
// than pile up work. After stop(), run() returns `pool_error::stopped`. stop() (and the
// destructor) lets the workers finish every queued job, then joins them; the callers' executors
// must still be running for their coroutines to resume.
//
// As with store::database: pass a named function object (or a lambda stored in a variable),
// never a capturing lambda written inside the co_await expression (g++ 12 copies such a
// temporary bitwise into the coroutine frame). Thread-safe.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace parley::media {

enum class pool_error {
  busy,    ///< the queue is full: try again later (429/503)
  stopped, ///< the pool is stopping or stopped
};

class worker_pool {
public:
  struct options {
    std::size_t threads = 1;     ///< at least 1
    std::size_t queue_limit = 8; ///< jobs waiting for a worker, at most
    const char* name = "media";  ///< the workers' thread name (common::named_thread)
  };

  struct statistics {
    std::uint64_t completed = 0; ///< jobs run (returned or threw); counted once the result is
                                 ///< on its way back, so it may lag by a job per worker
    std::uint64_t refused = 0;   ///< run() calls answered `busy`
    std::size_t queued = 0;      ///< waiting now
  };

  /// One unit of work: run() on a worker; refuse() instead when it is not queued.
  class job {
  public:
    virtual ~job() = default;
    virtual void run() = 0;
    virtual void refuse(pool_error reason) = 0;
  };

  explicit worker_pool(options settings);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Runs `function()` (which returns a value) on a worker; see above.
  template <class Function> auto run(Function function);

  /// Queues `work`, or calls work->refuse() (on this thread) when the queue is full or stopped.
  void submit(std::unique_ptr<job> work);

  /// Finishes what is queued, then joins the workers. Idempotent.
  void stop();

  [[nodiscard]] statistics stats() const;

private:
  void work_loop();

  const std::size_t queue_limit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<job>> jobs_; // guarded by mutex_
  bool stopping_ = false;                 // guarded by mutex_
  statistics statistics_;                 // guarded by mutex_
  std::vector<std::thread> threads_;
  std::once_flag stopped_;
};

namespace detail {

// The function and its outcome, on the heap: only this pointer crosses into coroutine frames
// (see store/database.hpp for why).
template <class Result, class Function> struct pool_call {
  explicit pool_call(Function work) : function(std::move(work)) {}
  Function function;
  std::optional<Result> result;
  std::optional<pool_error> refused;
};

template <class Result, class Function, class Handler>
class pool_job final : public worker_pool::job {
public:
  pool_job(std::unique_ptr<pool_call<Result, Function>> call, Handler handler)
      : call_(std::move(call)), handler_(std::move(handler)),
        work_(boost::asio::get_associated_executor(handler_)) {}

  void run() override {
    std::exception_ptr failure;
    try {
      call_->result.emplace(call_->function());
    } catch (...) {
      failure = std::current_exception();
    }
    finish(failure);
  }
  void refuse(pool_error reason) override {
    call_->refused = reason;
    finish(nullptr);
  }

private:
  // Resumes the caller on its executor, never inline.
  void finish(std::exception_ptr failure) {
    auto executor = work_.get_executor();
    boost::asio::post(executor, [handler = std::move(handler_), failure, call = std::move(call_),
                                 work = std::move(work_)]() mutable {
      std::move(handler)(failure, std::move(call));
    });
  }

  std::unique_ptr<pool_call<Result, Function>> call_;
  Handler handler_;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
};

template <class Result, class Function>
boost::asio::awaitable<std::expected<Result, pool_error>>
submit_to_pool(worker_pool& pool, std::unique_ptr<pool_call<Result, Function>> call) {
  using call_pointer = std::unique_ptr<pool_call<Result, Function>>;
  auto finished = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                       void(std::exception_ptr, call_pointer)>(
      [&pool, &call](auto handler) {
        using handler_type = decltype(handler);
        pool.submit(std::make_unique<pool_job<Result, Function, handler_type>>(std::move(call),
                                                                               std::move(handler)));
      },
      boost::asio::use_awaitable);
  if (finished->refused) {
    co_return std::unexpected(*finished->refused);
  }
  co_return std::move(*finished->result);
}

} // namespace detail

template <class Function> auto worker_pool::run(Function function) {
  using result_type = std::invoke_result_t<Function&>;
  static_assert(!std::is_void_v<result_type>, "pool jobs return a value");
  return detail::submit_to_pool<result_type, Function>(
      *this, std::make_unique<detail::pool_call<result_type, Function>>(std::move(function)));
}

} // namespace parley::media
