#pragma once
// What both engines' databases share: the queue between callers and a store thread (callers
// push jobs from any thread; the writer takes everything waiting, up to a bound, for one group
// commit; a reader takes one job at a time), the counters, and the threads themselves.
// Internal to the store.

#include "common/post_batch.hpp"
#include "common/thread_name.hpp"
#include "store/database.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

namespace parley::store {

class job_queue {
public:
  using clock = std::chrono::steady_clock;

  /// A deferrable job (job::deferrable) waits at most `limit` for a job that is not.
  explicit job_queue(std::chrono::milliseconds limit = {}) : defer_limit_(limit) {}

  /// Queues `work`, or fails it at once when the queue is stopping. A deferrable job wakes a
  /// taker only when one sleeps with no deadline (it then learns the job's): a taker that has
  /// taken work within the last `limit` sleeps with a deadline anyway, so at a steady light
  /// load a deferrable job (a delivered mark) costs the writer no wake-up of its own.
  void push(std::unique_ptr<job> work) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        const bool deferrable = work->deferrable();
        wake = !deferrable || sleeping_without_deadline_ > 0;
        urgent_ += deferrable ? 0 : 1;
        jobs_.push_back(
            queued{std::move(work), deferrable, deferrable ? clock::now() : clock::time_point{}});
        notified_ += wake ? 1 : 0;
      }
    }
    if (work) {
      work->complete(std::make_exception_ptr(std::runtime_error("the store is stopped")));
      return;
    }
    if (wake) {
      ready_.notify_one();
    }
  }

  /// Waits for work and moves up to `most` jobs into `batch` (cleared first). While only
  /// deferrable jobs wait, it waits until the oldest has waited its limit. With nothing queued
  /// it sleeps until `limit` after it last took work (a deferrable job pushed meanwhile needs
  /// no wake-up), then without a deadline. False once the queue is stopping and empty:
  /// everything queued has been taken.
  bool take(std::vector<std::unique_ptr<job>>& batch, std::size_t most) {
    batch.clear();
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopping_ || urgent_ > 0) {
        break;
      }
      const auto now = clock::now();
      if (jobs_.empty()) {
        if (defer_limit_.count() > 0 && now < lingering_until_) {
          ready_.wait_until(lock, lingering_until_);
        } else {
          ++sleeping_without_deadline_;
          ready_.wait(lock);
          --sleeping_without_deadline_;
        }
        continue;
      }
      // Only deferrable jobs: the front one has waited longest.
      const auto deadline = jobs_.front().since + defer_limit_;
      if (now >= deadline) {
        break;
      }
      ready_.wait_until(lock, deadline);
    }
    while (!jobs_.empty() && batch.size() < most) {
      urgent_ -= jobs_.front().deferrable ? 0 : 1;
      batch.push_back(std::move(jobs_.front().work));
      jobs_.pop_front();
    }
    if (!batch.empty() && defer_limit_.count() > 0) {
      lingering_until_ = clock::now() + defer_limit_;
    }
    return !batch.empty();
  }

  /// How many pushes woke a taker (or would have, with none asleep): for tests.
  [[nodiscard]] std::size_t notified() const {
    std::lock_guard lock(mutex_);
    return notified_;
  }
  /// Whether a taker sleeps without a deadline: for tests.
  [[nodiscard]] bool has_taker_without_deadline() const {
    std::lock_guard lock(mutex_);
    return sleeping_without_deadline_ > 0;
  }

  /// Refuses later pushes and wakes every taker; what is queued is still taken at once.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
  }

private:
  struct queued {
    std::unique_ptr<job> work;
    bool deferrable = false;  ///< work->deferrable(), asked once.
    clock::time_point since; ///< When a deferrable job was queued.
  };

  const std::chrono::milliseconds defer_limit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<queued> jobs_;      // guarded by mutex_
  std::size_t urgent_ = 0;       // guarded by mutex_: queued jobs that are not deferrable
  bool stopping_ = false;        // guarded by mutex_
  std::size_t sleeping_without_deadline_ = 0; // guarded by mutex_: takers in ready_.wait()
  clock::time_point lingering_until_;         // guarded by mutex_: last take + defer_limit_
  std::size_t notified_ = 0;                  // guarded by mutex_
};

/// False when every job of `batch` is deferrable: such a batch alone needs no flush to disk
/// (job::deferrable).
inline bool needs_flush(std::span<const std::unique_ptr<job>> batch) {
  return std::ranges::any_of(batch, [](const auto& work) { return !work->deferrable(); });
}

/// Counters a database's threads add to.
class statistics_counter {
public:
  void add_writes(std::size_t jobs, std::chrono::nanoseconds took) {
    std::lock_guard lock(mutex_);
    value_.write_jobs += jobs;
    value_.write_batches += 1;
    value_.commits.record(took);
  }
  void add_read() {
    std::lock_guard lock(mutex_);
    value_.read_jobs += 1;
  }
  void add_read_here() {
    std::lock_guard lock(mutex_);
    value_.read_jobs += 1;
    value_.reads_here += 1;
  }
  void add_read_moved() {
    std::lock_guard lock(mutex_);
    value_.reads_moved += 1;
  }
  void add_checkpoint(bool on_writer) {
    std::lock_guard lock(mutex_);
    (on_writer ? value_.writer_checkpoints : value_.checkpoints) += 1;
  }
  [[nodiscard]] statistics get() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

private:
  mutable std::mutex mutex_;
  statistics value_; // guarded by mutex_
};

/// A database run by one writer thread and reader threads, each looping over its queue. An
/// engine implements the loops (connections, transactions, group commit) and calls start()
/// once its constructor is done, and stop() in its destructor.
class threaded_database : public database {
public:
  /// Deferrable writes wait at most `defer_limit` for a batch that is not only theirs.
  explicit threaded_database(std::chrono::milliseconds defer_limit) : writes_(defer_limit) {}

  void submit_write(std::unique_ptr<job> work) final { writes_.push(std::move(work)); }
  /// Runs `work` here when run_here() can (and it is not a long read), else queues it for a
  /// reader thread.
  void submit_read(std::unique_ptr<job> work) final {
    const bool try_here = !stopping_.load(std::memory_order_relaxed) && !work->long_read();
    switch (try_here ? run_here(*work) : here::not_here) {
    case here::done:
      statistics_.add_read_here();
      work->complete(nullptr);
      return;
    case here::moved:
      statistics_.add_read_moved();
      break;
    case here::not_here:
      break;
    }
    reads_.push(std::move(work));
  }
  /// Finishes what is queued, then joins the threads.
  void stop() final {
    std::call_once(stopped_, [this] {
      stopping_ = true; // a read asked for from now on fails, wherever it would have run
      writes_.stop();
      reads_.stop();
      if (writer_.joinable()) {
        writer_.join();
      }
      for (auto& reader : readers_) {
        if (reader.joinable()) {
          reader.join();
        }
      }
    });
  }
  [[nodiscard]] statistics stats() const final { return statistics_.get(); }

protected:
  /// Starts the writer and `readers` reader threads (at least one).
  void start(std::size_t readers) {
    writer_ = common::named_thread("store-writer", [this] { write_loop(); });
    for (std::size_t index = 0; index < std::max<std::size_t>(1, readers); ++index) {
      readers_.push_back(common::named_thread("store-reader", [this] { read_loop(); }));
    }
  }
  enum class here {
    not_here, ///< Not started: this thread does not read here (database::read_here).
    done,     ///< Ran and committed here: complete it.
    moved,    ///< Started here and rolled back (over budget, failed, busy): a reader runs it.
  };
  /// Runs a read on the calling thread, when it may (database::read_here).
  virtual here run_here(job& work) {
    (void)work;
    return here::not_here;
  }
  /// Takes batches from writes_ until it is stopped and empty.
  virtual void write_loop() = 0;
  /// Takes jobs from reads_ until it is stopped and empty.
  virtual void read_loop() = 0;

  /// After a commit (or its failure): counts jobs [first, last) of `batch` and the time since
  /// `started` (when the writer took them), and completes each with its failure (null:
  /// committed), in order. What they post (their callers' resumptions, the deliveries of their
  /// committed() hooks) reaches each I/O thread as one hand-off (common::post_batch).
  void complete_committed(const std::vector<std::unique_ptr<job>>& batch,
                          const std::vector<std::exception_ptr>& failures, std::size_t first,
                          std::size_t last, std::chrono::steady_clock::time_point started) {
    statistics_.add_writes(last - first, std::chrono::steady_clock::now() - started);
    const common::post_batch handoff;
    for (std::size_t index = first; index < last; ++index) {
      batch[index]->complete(failures[index]);
    }
  }

  job_queue writes_;
  job_queue reads_;
  statistics_counter statistics_;

private:
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::once_flag stopped_;
  std::atomic<bool> stopping_{false};
};

} // namespace parley::store
