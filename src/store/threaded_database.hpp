#pragma once
// What both engines' databases share: the queue between callers and a store thread (callers
// push jobs from any thread; the writer takes everything waiting, up to a bound, for one group
// commit; a reader takes one job at a time), the counters, and the threads themselves.
// Internal to the store.

#include "store/database.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
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

/// A database run by one writer thread and reader threads, each looping over its queue. An
/// engine implements the loops (connections, transactions, group commit) and calls start()
/// once its constructor is done, and stop() in its destructor.
class threaded_database : public database {
public:
  void submit_write(std::unique_ptr<job> work) final { writes_.push(std::move(work)); }
  void submit_read(std::unique_ptr<job> work) final { reads_.push(std::move(work)); }
  /// Finishes what is queued, then joins the threads.
  void stop() final {
    std::call_once(stopped_, [this] {
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
    writer_ = std::thread([this] { write_loop(); });
    for (std::size_t index = 0; index < std::max<std::size_t>(1, readers); ++index) {
      readers_.emplace_back([this] { read_loop(); });
    }
  }
  /// Takes batches from writes_ until it is stopped and empty.
  virtual void write_loop() = 0;
  /// Takes jobs from reads_ until it is stopped and empty.
  virtual void read_loop() = 0;

  job_queue writes_;
  job_queue reads_;
  statistics_counter statistics_;

private:
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::once_flag stopped_;
};

} // namespace parley::store
