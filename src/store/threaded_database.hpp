#pragma once
// What both engines' databases share: the queues between callers and the store's threads
// (job_queue.hpp), the counters, the threads themselves, and the commits of a light load on
// the threads that ask for them (database::write_here). Internal to the store.

#include "common/post_batch.hpp"
#include "common/thread_name.hpp"
#include "store/commit_timing.hpp"
#include "store/database.hpp"
#include "store/job_queue.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parley::store {

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
  void add_writes_here() {
    std::lock_guard lock(mutex_);
    value_.write_batches_here += 1;
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
  /// Deferrable writes wait at most `defer_limit` for a batch that is not only theirs; a
  /// commit that takes longer than `slow_commit` (if positive) is logged (commit_timing.hpp).
  threaded_database(std::chrono::milliseconds defer_limit, std::chrono::microseconds slow_commit)
      : writes_(defer_limit, job_queue::takers::one_claiming), slow_commit_(slow_commit) {}

  /// A write that is not deferrable, asked for on a thread that holds a local writer of this
  /// database, is queued without waking the writer thread, and that thread commits what is
  /// queued itself once the handlers ready on it have run, or hands it to the writer
  /// (commit_here). Any other write, and one its caller waits for, is queued for the writer
  /// thread.
  void submit_write(std::unique_ptr<job> work) final {
    auto* local = work->deferrable() || work->blocks_its_caller()
                      ? nullptr
                      : local_writer::of_this_thread(*this);
    if (local == nullptr) {
      writes_.push(std::move(work));
      return;
    }
    writes_.push(std::move(work), true);
    local->commit_soon();
  }
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
  /// Whether a thread holds the writer's connection (the writer thread from a batch it took
  /// until its next take, or one committing here): for tests.
  [[nodiscard]] bool writes_claimed() const { return writes_.claimed(); }
  /// Whether the writer thread sleeps, waiting for work or for a claim: for tests.
  [[nodiscard]] bool writer_asleep() const { return writes_.has_taker_asleep(); }
  /// Whether it sleeps with no deadline (a deferrable job pushed now would wake it): for tests.
  [[nodiscard]] bool writer_asleep_without_deadline() const {
    return writes_.has_taker_without_deadline();
  }

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
  /// Runs, commits and completes `batch` on the calling thread, which holds writes_' claim
  /// (job_queue::try_claim), as the writer thread would: for an engine whose write_here gives
  /// a local writer (make_local_writer).
  virtual void commit_batch(std::vector<std::unique_ptr<job>>& batch) {
    (void)batch;
    throw std::logic_error("this engine commits on its writer thread only");
  }
  /// Whether a batch may be committed on another thread than the writer now; asked holding
  /// writes_' claim (SQLite: not while a checkpoint is due on the writer's connection).
  virtual bool may_commit_here() { return true; }

  /// For an engine's write_here: a local writer for the calling thread, running `executor`,
  /// that commits at most `most` jobs that are not deferrable at once, and only while the
  /// last commit took no longer than `budget`.
  std::unique_ptr<local_writes> make_local_writer(const boost::asio::any_io_executor& executor,
                                                  std::chrono::microseconds budget,
                                                  std::size_t most, std::size_t max_batch) {
    if (budget <= std::chrono::microseconds::zero() || most == 0) {
      return nullptr;
    }
    return std::make_unique<local_writer>(*this, executor, budget, most, max_batch);
  }

  /// A commit's timing, started now (commit_timing.hpp).
  [[nodiscard]] commit_timing time_commit() const { return commit_timing(slow_commit_); }

  /// After a commit (or its failure): counts jobs [first, last) of `batch` and the time since
  /// `timing` started (when the writer took them), logs the commit if it was slow (`engine`,
  /// whether it was `flushed`), and completes each job with its failure (null: committed), in
  /// order. What they post (their callers' resumptions, the deliveries of their committed()
  /// hooks) reaches each I/O thread as one hand-off (common::post_batch).
  void complete_committed(const std::vector<std::unique_ptr<job>>& batch,
                          const std::vector<std::exception_ptr>& failures, std::size_t first,
                          std::size_t last, const commit_timing& timing, std::string_view engine,
                          bool flushed) {
    const auto took = timing.elapsed(); // the log's own time not counted
    statistics_.add_writes(last - first, took);
    last_commit_.store(took.count(), std::memory_order_relaxed);
    timing.finish(last - first, engine, flushed);
    const common::post_batch handoff;
    for (std::size_t index = first; index < last; ++index) {
      batch[index]->complete(failures[index]);
    }
  }

  job_queue writes_;
  job_queue reads_;
  statistics_counter statistics_;

private:
  // While it lives, the thread that made it commits light loads itself (database::write_here).
  class local_writer final : public local_writes {
  public:
    local_writer(threaded_database& owner, boost::asio::any_io_executor executor,
                 std::chrono::microseconds budget, std::size_t most, std::size_t max_batch)
        : owner_(owner), executor_(std::move(executor)), budget_(budget), most_(most),
          max_batch_(max_batch), outer_(current_) {
      current_ = this;
    }
    ~local_writer() override { current_ = outer_; }
    local_writer(const local_writer&) = delete;
    local_writer& operator=(const local_writer&) = delete;

    static local_writer* of_this_thread(const threaded_database& database) {
      for (auto* local = current_; local != nullptr; local = local->outer_) {
        if (&local->owner_ == &database) {
          return local;
        }
      }
      return nullptr;
    }
    /// After a held push: once per round of this thread's ready handlers, so that the writes
    /// they ask for commit together.
    void commit_soon() {
      if (!std::exchange(posted_, true)) {
        boost::asio::post(executor_, [this] {
          posted_ = false;
          owner_.commit_here(*this);
        });
      }
    }

  private:
    friend class threaded_database;
    inline static thread_local local_writer* current_ = nullptr;

    threaded_database& owner_;
    const boost::asio::any_io_executor executor_;
    const std::chrono::microseconds budget_;
    const std::size_t most_;
    const std::size_t max_batch_;
    local_writer* const outer_; // this thread's local writer made before (another database's)
    bool posted_ = false;
    std::vector<std::unique_ptr<job>> batch_;
  };

  // Commits what is queued on this thread when the queue is light and the last commit was
  // quick (job_queue::try_claim, `local`'s budget), else leaves it to the writer thread,
  // waking it when it may sleep (the pushes were held).
  void commit_here(local_writer& local) {
    const std::chrono::nanoseconds last{last_commit_.load(std::memory_order_relaxed)};
    const auto found =
        last > local.budget_ ? job_queue::claim::large : writes_.try_claim(local.most_);
    if (found == job_queue::claim::large) {
      writes_.wake();
    }
    if (found != job_queue::claim::claimed) {
      // held: the writer thread takes them after the holder (whose release wakes it); empty:
      // taken already; stopped: stop() has the writer take them.
      return;
    }
    if (!may_commit_here()) {
      writes_.release(0); // wakes the writer thread: the jobs are its to commit
      return;
    }
    auto& batch = local.batch_;
    writes_.take_claimed(batch, local.max_batch_);
    struct releaser {
      job_queue& queue;
      std::vector<std::unique_ptr<job>>& batch;
      ~releaser() {
        const auto taken = batch.size();
        batch.clear(); // the jobs are completed: destroyed before the next holder runs
        queue.release(taken);
      }
    } release{writes_, batch};
    commit_batch(batch);
    statistics_.add_writes_here();
  }

  const std::chrono::microseconds slow_commit_;
  std::atomic<std::chrono::nanoseconds::rep> last_commit_{0}; // the last commit's time
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::once_flag stopped_;
  std::atomic<bool> stopping_{false};
};

} // namespace parley::store
