#pragma once
// The store's threads and how callers reach them.
//
// All writes go through one writer thread with group commit: jobs queue up, the writer takes
// everything waiting (up to a bound), runs the jobs in one transaction (if one fails, it is
// rolled back and run again with a savepoint per job, so that the failing job fails alone),
// commits, and only then completes the jobs. A job whose callers have been
// answered is therefore on disk. Reads run on separate reader threads, each with its own
// connection (WAL readers see the last commit), or, on SQLite, on the thread that asks for
// them when it holds a `local_reads` (read_here: an I/O thread, within a time budget; a read
// over it moves to a reader thread). On SQLite an I/O thread that holds a `local_writes`
// (write_here) commits a light load of writes itself, as the writer would; one thread at a
// time holds the writer's connection, so jobs commit and complete in their queued order
// whoever commits them ("the writer" below: whichever it is). Callers on an I/O thread
// `co_await read(...)` / `co_await write(...)` and are resumed on their own executor,
// always through a post (or, on the hottest path, pass a callback to `write_then`).

#include "common/histogram.hpp"
#include "common/post_batch.hpp"
#include "store/transaction.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <type_traits>

namespace parley::store {

/// One unit of work for a store thread. run() executes on the store thread inside a
/// transaction; complete() follows once the outcome is final: for a write, after COMMIT.
class job {
public:
  virtual ~job() = default;
  /// May run twice: a read started on the caller's thread and moved to a reader thread
  /// (database::read_here) runs again from the start in a new transaction.
  virtual void run_read(read_transaction& transaction) { (void)transaction; }
  /// May run more than once for one job, each time in a new transaction after the last was
  /// rolled back (a writer runs a batch again, a savepoint per job, when one of its jobs
  /// failed): a job keeps nothing from one run to the next but what the last run returns.
  virtual void run_write(write_transaction& transaction) { (void)transaction; }
  /// `failure` is null on success. Called on the thread that ran it (a store thread, or the
  /// thread that asked for it: read_here, write_here); must not block.
  virtual void complete(std::exception_ptr failure) = 0;
  /// The conversation whose row the job will lock, when known before it runs (0: not known).
  /// A writer that orders its batch by it takes row locks in ascending order, as every node
  /// must (see postgres_database.cpp).
  [[nodiscard]] virtual std::int64_t conversation_hint() const { return 0; }
  /// True for a write that can wait for the next batch (up to the engine's defer_limit) and
  /// needs no flush to disk of its own: what it records can be rebuilt if a crash loses it. A
  /// batch of such jobs alone commits without waiting for the disk; with any other job it is
  /// as durable as that one.
  [[nodiscard]] virtual bool deferrable() const { return false; }
  /// True for a read that is known to take long (a page of hundreds of rows): it goes to a
  /// reader thread at once instead of being tried on the caller's (database::read_here),
  /// where it would only be interrupted at the budget and run again.
  [[nodiscard]] virtual bool long_read() const { return false; }
  /// True for a write whose caller blocks until it completes (blocking_write): it is never
  /// left to the asking thread to commit (database::write_here), which could not while blocked.
  [[nodiscard]] virtual bool blocks_its_caller() const { return false; }
};

struct statistics {
  std::uint64_t write_jobs = 0;    ///< Jobs committed (or failed) by the writer.
  std::uint64_t write_batches = 0; ///< Transactions committed: jobs / batches = batching.
  std::uint64_t write_batches_here = 0; ///< Of those, committed on an I/O thread (write_here).
  std::uint64_t read_jobs = 0;     ///< Reads completed, wherever they ran.
  std::uint64_t reads_here = 0;    ///< Of those, completed on the thread that asked (read_here).
  std::uint64_t reads_moved = 0;   ///< Reads started there and moved to a reader thread.
  /// SQLite's checkpoints of the WAL into the database file: by a thread of their own, and by
  /// the writer between two batches (sqlite_checkpointer.hpp). PostgreSQL: none counted.
  std::uint64_t checkpoints = 0;
  std::uint64_t writer_checkpoints = 0;
  /// How long each transaction of the writer took, from taking its jobs to its commit's return
  /// (the flush included), before its jobs complete; a failed one counts too.
  common::latency_histogram commits;
};

/// While it lives, reads asked for on the thread that made it run on that thread
/// (database::read_here). Destroy it on the same thread, before the database.
class local_reads {
public:
  virtual ~local_reads() = default;
};

/// While it lives, light writes asked for on the thread that made it may be committed on that
/// thread (database::write_here). Destroy it on the same thread, before the database.
class local_writes {
public:
  virtual ~local_writes() = default;
};

/// A database: a writer and readers. Thread-safe. stop() (or the destructor) finishes every
/// queued job before returning.
class database {
public:
  virtual ~database() = default;
  virtual void submit_write(std::unique_ptr<job> work) = 0;
  virtual void submit_read(std::unique_ptr<job> work) = 0;
  /// Finishes queued work and stops the threads. Later submissions fail their jobs.
  virtual void stop() = 0;
  [[nodiscard]] virtual statistics stats() const = 0;
  /// The schema version after the migrations run at opening.
  [[nodiscard]] virtual int schema_version() const = 0;
  /// Lets the calling thread run the reads it asks for itself, on a connection of its own,
  /// while the returned object lives, and so spares each read two thread switches. Each read
  /// gets `budget`: one that runs longer, fails or would wait for a lock is rolled back and run
  /// again on a reader thread (its function may so run twice, as a write's may), so a slow
  /// read holds this thread up for about `budget` at most (plus one disk read, if the
  /// database's pages are not in memory). A read asked for from inside one running here also
  /// goes to a reader thread. Null when reads stay on reader threads: a zero budget, or an
  /// engine whose reads wait on the network (PostgreSQL).
  [[nodiscard]] virtual std::unique_ptr<local_reads> read_here(std::chrono::microseconds budget) {
    (void)budget;
    return nullptr;
  }

  /// Lets the calling thread, which runs `executor` (an I/O thread), commit the writes it asks
  /// for itself while the load is light, and so spares each of them the hand-offs to the
  /// writer thread and back: a write that is not deferrable is queued without waking the
  /// writer, and once the handlers ready on this thread have run, this thread takes what is
  /// queued and commits it as the writer would, when the writer is idle, at most `most` such
  /// jobs wait, the last batch was no larger, and the last commit (whoever made it) took no
  /// longer than `budget`. Otherwise the writer thread commits them. The thread is held up for
  /// the commit and its flush (about the budget, unless the disk slows down at once). Null
  /// when every write stays on the writer thread: a zero budget, or an engine whose commits
  /// wait on the network (PostgreSQL).
  [[nodiscard]] virtual std::unique_ptr<local_writes>
  write_here(const boost::asio::any_io_executor& executor, std::chrono::microseconds budget) {
    (void)executor;
    (void)budget;
    return nullptr;
  }

  /// Runs `function(write_transaction&)` in the next group commit and resumes the caller with
  /// its result after COMMIT. A thrown exception (storage failure) is rethrown to the caller.
  ///
  /// A function object with a member `conversation_hint()` names the conversation it will lock
  /// (see job::conversation_hint).
  ///
  /// A function object with `static constexpr bool deferrable = true` is a deferrable job
  /// (job::deferrable).
  ///
  /// A function object with a member `committed(Result&)` has it called on the thread that
  /// committed it (the writer thread, or an I/O thread: write_here) right after COMMIT, before
  /// any later job completes: jobs see their commits in commit
  /// order there (e.g. to hand out messages in id order). It must not block.
  ///
  /// Pass a named function object, never a capturing lambda written inside the co_await
  /// expression: g++ 12 materialises such a temporary in the coroutine frame with a bitwise
  /// copy, so a captured short std::string ends up pointing into the wrong object.
  template <class Function> auto write(Function function);

  /// `write` without a coroutine, for the message path (a send is the commonest job, and the
  /// coroutine frames and resumptions of awaiting it were a sixth of its I/O thread's
  /// instructions): runs `function` as `write` does, then calls
  /// `done(std::exception_ptr failure, std::optional<Result> result)` on `executor` (the result
  /// is set exactly when there is no failure).
  template <class Function, class Executor, class Done>
  void write_then(Function function, const Executor& executor, Done done);

  /// Runs `function(read_transaction&)` on a reader thread (or on this one: read_here) and
  /// resumes the caller with its result, through a post to the caller's executor. A function
  /// object with `static constexpr bool long_read = true` always runs on a reader thread
  /// (job::long_read).
  template <class Function> auto read(Function function);
};

namespace detail {

// Holds the caller's function on the heap. Only this pointer crosses into coroutine frames:
// g++ 12 can relocate by-value coroutine arguments bitwise, which breaks objects that point
// into themselves (a short std::string captured by a lambda).
template <class Result, class Function> struct prepared_call {
  explicit prepared_call(Function work) : function(std::move(work)) {}
  Function function;
  std::optional<Result> result;
};

// A job whose completion goes to an Asio completion handler on the handler's executor (the
// coroutine's resumption for write/read, the caller's callback for write_then), after the
// function's committed() hook when it has one.
template <class Result, class Function, class Handler> class handler_job final : public job {
public:
  handler_job(std::unique_ptr<prepared_call<Result, Function>> call, Handler handler)
      : call_(std::move(call)), handler_(std::move(handler)),
        work_(boost::asio::get_associated_executor(handler_)) {}

  void run_read(read_transaction& transaction) override {
    if constexpr (std::is_invocable_v<Function&, read_transaction&>) {
      call_->result.emplace(call_->function(transaction));
    }
  }
  void run_write(write_transaction& transaction) override {
    if constexpr (std::is_invocable_v<Function&, write_transaction&>) {
      call_->result.emplace(call_->function(transaction));
    }
  }
  [[nodiscard]] bool deferrable() const override {
    if constexpr (requires { Function::deferrable; }) {
      return Function::deferrable;
    } else {
      return false;
    }
  }
  [[nodiscard]] bool long_read() const override {
    if constexpr (requires { Function::long_read; }) {
      return Function::long_read;
    } else {
      return false;
    }
  }
  [[nodiscard]] std::int64_t conversation_hint() const override {
    if constexpr (requires(const Function& function) { function.conversation_hint(); }) {
      return call_->function.conversation_hint();
    } else {
      return 0;
    }
  }
  void complete(std::exception_ptr failure) override {
    if (!failure && !call_->result) {
      failure = std::make_exception_ptr(std::logic_error("store job produced no result"));
    }
    if constexpr (requires(Function& function, Result& result) { function.committed(result); }) {
      if (!failure) {
        call_->function.committed(*call_->result);
      }
    }
    auto executor = work_.get_executor();
    auto resume = [handler = std::move(handler_), failure, call = std::move(call_),
                   work = std::move(work_)]() mutable {
      std::move(handler)(failure, std::move(call));
    };
    if constexpr (std::is_convertible_v<decltype(executor), boost::asio::any_io_executor>) {
      common::post_batch::post(executor, std::move(resume)); // the writer's batch, if open
    } else {
      boost::asio::post(executor, std::move(resume));
    }
  }

private:
  std::unique_ptr<prepared_call<Result, Function>> call_;
  Handler handler_;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
};

template <class Result, class Function>
boost::asio::awaitable<Result> submit(database& target,
                                      std::unique_ptr<prepared_call<Result, Function>> call,
                                      bool is_write) {
  using call_pointer = std::unique_ptr<prepared_call<Result, Function>>;
  auto finished = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                       void(std::exception_ptr, call_pointer)>(
      [&target, is_write, &call](auto handler) {
        using handler_type = decltype(handler);
        auto job = std::make_unique<handler_job<Result, Function, handler_type>>(
            std::move(call), std::move(handler));
        if (is_write) {
          target.submit_write(std::move(job));
        } else {
          target.submit_read(std::move(job));
        }
      },
      boost::asio::use_awaitable);
  co_return std::move(*finished->result);
}

template <class Result, class Function> class blocking_job final : public job {
public:
  explicit blocking_job(Function function) : function_(std::move(function)) {}
  [[nodiscard]] bool blocks_its_caller() const override { return true; }
  void run_write(write_transaction& transaction) override { result_.emplace(function_(transaction)); }
  void complete(std::exception_ptr failure) override {
    if (failure) {
      promise_.set_exception(failure);
    } else {
      promise_.set_value(std::move(*result_));
    }
  }
  std::future<Result> future() { return promise_.get_future(); }

private:
  Function function_;
  std::optional<Result> result_;
  std::promise<Result> promise_;
};

} // namespace detail

/// Runs `function(write_transaction&)` in a group commit and waits for it: for start-up,
/// command-line tools and tests. On an I/O thread it would hold up every socket of the thread
/// (it still completes: job::blocks_its_caller).
template <class Function> auto blocking_write(database& target, Function function) {
  using result_type = std::invoke_result_t<Function&, write_transaction&>;
  auto work = std::make_unique<detail::blocking_job<result_type, Function>>(std::move(function));
  auto result = work->future();
  target.submit_write(std::move(work));
  return result.get();
}

template <class Function> auto database::write(Function function) {
  using result_type = std::invoke_result_t<Function&, write_transaction&>;
  static_assert(!std::is_void_v<result_type>, "store jobs return a value");
  return detail::submit<result_type, Function>(
      *this, std::make_unique<detail::prepared_call<result_type, Function>>(std::move(function)),
      true);
}

template <class Function, class Executor, class Done>
void database::write_then(Function function, const Executor& executor, Done done) {
  using result_type = std::invoke_result_t<Function&, write_transaction&>;
  static_assert(!std::is_void_v<result_type>, "store jobs return a value");
  using call_pointer = std::unique_ptr<detail::prepared_call<result_type, Function>>;
  auto handler = boost::asio::bind_executor(
      executor, [done = std::move(done)](std::exception_ptr failure, call_pointer call) mutable {
        std::move(done)(failure, failure ? std::nullopt : std::move(call->result));
      });
  submit_write(std::make_unique<detail::handler_job<result_type, Function, decltype(handler)>>(
      std::make_unique<detail::prepared_call<result_type, Function>>(std::move(function)),
      std::move(handler)));
}

template <class Function> auto database::read(Function function) {
  using result_type = std::invoke_result_t<Function&, read_transaction&>;
  static_assert(!std::is_void_v<result_type>, "store jobs return a value");
  return detail::submit<result_type, Function>(
      *this, std::make_unique<detail::prepared_call<result_type, Function>>(std::move(function)),
      false);
}

} // namespace parley::store
