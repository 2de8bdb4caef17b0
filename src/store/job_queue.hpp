#pragma once
// The queue between callers and a store thread, shared by both engines' databases: callers
// push jobs from any thread; the writer takes everything waiting (up to a bound) for one
// group commit, a reader takes one job at a time. Internal to the store.

#include "store/database.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace parley::store {

class job_queue {
public:
  /// Queues `work`, or fails it at once when the queue is stopping.
  void push(std::unique_ptr<job> work) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        jobs_.push_back(std::move(work));
      }
    }
    if (work) {
      work->complete(std::make_exception_ptr(std::runtime_error("the store is stopped")));
      return;
    }
    ready_.notify_one();
  }

  /// Waits for work and moves up to `most` jobs into `batch` (cleared first). False once the
  /// queue is stopping and empty: everything queued has been taken.
  bool take(std::vector<std::unique_ptr<job>>& batch, std::size_t most) {
    batch.clear();
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    while (!jobs_.empty() && batch.size() < most) {
      batch.push_back(std::move(jobs_.front()));
      jobs_.pop_front();
    }
    return !batch.empty();
  }

  /// Refuses later pushes and wakes every taker; what is queued is still taken.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<job>> jobs_; // guarded by mutex_
  bool stopping_ = false;                 // guarded by mutex_
};

/// Counters a database's threads add to.
class statistics_counter {
public:
  void add_writes(std::size_t jobs) {
    std::lock_guard lock(mutex_);
    value_.write_jobs += jobs;
    value_.write_batches += 1;
  }
  void add_read() {
    std::lock_guard lock(mutex_);
    value_.read_jobs += 1;
  }
  [[nodiscard]] statistics get() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

private:
  mutable std::mutex mutex_;
  statistics value_; // guarded by mutex_
};

} // namespace parley::store
