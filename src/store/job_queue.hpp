#pragma once
// The queue between the store's callers and a store thread: callers push jobs from any thread;
// a reader takes one job at a time; the writer takes everything waiting, up to a bound, for
// one group commit, holding the writer's connection meanwhile, a claim that a thread
// committing a light load itself may also take (database::write_here). Internal to the store.

#include "store/database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace parley::store {

class job_queue {
public:
  using clock = std::chrono::steady_clock;

  /// Who may take from the queue: any number of takers (readers), or one taker that holds
  /// what it takes until its next take(), as the only holder of a claim that another thread
  /// may also take for a while (the writer's connection: try_claim).
  enum class takers { many, one_claiming };

  /// A deferrable job (job::deferrable) waits at most `limit` for a job that is not.
  explicit job_queue(std::chrono::milliseconds limit = {}, takers kind = takers::many)
      : defer_limit_(limit), claiming_(kind == takers::one_claiming) {}

  /// Queues `work`, or fails it at once when the queue is stopping. A deferrable job wakes a
  /// taker only when one sleeps with no deadline (it then learns the job's): a taker that has
  /// taken work within the last `limit` sleeps with a deadline anyway, so at a steady light
  /// load a deferrable job (a delivered mark) costs the writer no wake-up of its own. A job
  /// pushed `held` wakes nobody: its pusher will take it itself (try_claim) or wake().
  void push(std::unique_ptr<job> work, bool held = false) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        const bool deferrable = work->deferrable();
        wake = !held && (!deferrable || sleeping_without_deadline_ > 0);
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
  ///
  /// With takers::one_claiming, the taker holds the claim from a take() that returns work to
  /// its next take() (it has committed and completed that work then), and takes nothing while
  /// another thread holds it: whoever holds the claim has the jobs in their queued order.
  bool take(std::vector<std::unique_ptr<job>>& batch, std::size_t most) {
    batch.clear();
    std::unique_lock lock(mutex_);
    if (taker_holds_) {
      taker_holds_ = false;
      claimed_ = false;
      last_batch_ = taken_;
    }
    for (;;) {
      if (claimed_) {
        ++waiting_for_claim_;
        wait(lock); // release() wakes it
        --waiting_for_claim_;
        continue;
      }
      if (stopping_ || urgent_ > 0) {
        break;
      }
      const auto now = clock::now();
      if (jobs_.empty()) {
        if (defer_limit_.count() > 0 && now < lingering_until_) {
          wait(lock, lingering_until_);
        } else {
          ++sleeping_without_deadline_;
          wait(lock);
          --sleeping_without_deadline_;
        }
        continue;
      }
      // Only deferrable jobs: the front one has waited longest.
      const auto deadline = jobs_.front().since + defer_limit_;
      if (now >= deadline) {
        break;
      }
      wait(lock, deadline);
    }
    while (!jobs_.empty() && batch.size() < most) {
      urgent_ -= jobs_.front().deferrable ? 0 : 1;
      batch.push_back(std::move(jobs_.front().work));
      jobs_.pop_front();
    }
    if (!batch.empty() && defer_limit_.count() > 0) {
      lingering_until_ = clock::now() + defer_limit_;
    }
    if (claiming_ && !batch.empty()) {
      claimed_ = true;
      taker_holds_ = true;
      taken_ = batch.size();
    }
    return !batch.empty();
  }

  /// What try_claim() found.
  enum class claim {
    claimed, ///< The caller holds the claim: take_claimed(), then release().
    held,    ///< Another thread holds it (and takes what is queued when it is done).
    empty,   ///< No job that is not deferrable waits.
    large,   ///< More than `most` such jobs wait, or the last batch was larger: the taker's.
    stopped, ///< The queue is stopping.
  };
  /// How many queued jobs in all a claim may take for each job that is not deferrable it may.
  static constexpr std::size_t k_deferrable_per_claimed = 4;
  /// For a thread other than the taker (takers::one_claiming): claims the queue's jobs when
  /// nobody holds them, at least one job that is not deferrable waits, and neither those nor
  /// the last batch (whoever took it) number more than `most`, nor all the queued jobs more
  /// than k_deferrable_per_claimed times `most` (the delivered marks of a large group's message
  /// are the taker's to commit).
  [[nodiscard]] claim try_claim(std::size_t most) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return claim::stopped;
    }
    if (claimed_) {
      return claim::held;
    }
    if (urgent_ == 0) {
      return claim::empty;
    }
    if (urgent_ > most || jobs_.size() > k_deferrable_per_claimed * most || last_batch_ > most) {
      return claim::large;
    }
    claimed_ = true;
    return claim::claimed;
  }
  /// Moves up to `most` queued jobs into `batch` (cleared first), in order; for the claim's
  /// holder (try_claim).
  void take_claimed(std::vector<std::unique_ptr<job>>& batch, std::size_t most) {
    batch.clear();
    std::lock_guard lock(mutex_);
    while (!jobs_.empty() && batch.size() < most) {
      urgent_ -= jobs_.front().deferrable ? 0 : 1;
      batch.push_back(std::move(jobs_.front().work));
      jobs_.pop_front();
    }
  }
  /// Gives back a claim taken with try_claim, once the `taken` jobs it took are committed and
  /// completed (0: it took none), and wakes the taker if it waits for the claim or jobs that
  /// are not deferrable wait.
  void release(std::size_t taken) {
    std::lock_guard lock(mutex_);
    release_locked(taken);
  }
  /// Wakes the taker (for a held push that its pusher does not take itself).
  void wake() { ready_.notify_one(); }

  /// How many pushes woke a taker (or would have, with none asleep), and releases that woke
  /// one waiting for the claim: for tests.
  [[nodiscard]] std::size_t notified() const {
    std::lock_guard lock(mutex_);
    return notified_;
  }
  /// Whether the taker or another thread holds the claim: for tests.
  [[nodiscard]] bool claimed() const {
    std::lock_guard lock(mutex_);
    return claimed_;
  }
  /// Whether a taker sleeps in take(), for whatever reason: for tests.
  [[nodiscard]] bool has_taker_asleep() const {
    std::lock_guard lock(mutex_);
    return asleep_ > 0;
  }
  /// Whether a taker waits in take() for another thread's claim: for tests.
  [[nodiscard]] bool has_taker_waiting_for_claim() const {
    std::lock_guard lock(mutex_);
    return waiting_for_claim_ > 0;
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
  // Sleeps in take(), counted (has_taker_asleep); until `deadline` if there is one.
  void wait(std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline = {}) {
    ++asleep_;
    if (deadline) {
      ready_.wait_until(lock, *deadline);
    } else {
      ready_.wait(lock);
    }
    --asleep_;
  }

  void release_locked(std::size_t taken) {
    claimed_ = false;
    if (taken > 0) {
      last_batch_ = taken;
    }
    // A taker waiting for the claim, or asleep while jobs wait that the holder did not take
    // (another thread's held push, made while the claim was held): a taker asleep for want of
    // jobs is not woken for nothing.
    if (waiting_for_claim_ > 0 || urgent_ > 0) {
      ++notified_;
      ready_.notify_one();
    }
  }

  struct queued {
    std::unique_ptr<job> work;
    bool deferrable = false; ///< work->deferrable(), asked once.
    clock::time_point since; ///< When a deferrable job was queued.
  };

  const std::chrono::milliseconds defer_limit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<queued> jobs_; // guarded by mutex_
  std::size_t urgent_ = 0;  // guarded by mutex_: queued jobs that are not deferrable
  bool stopping_ = false;   // guarded by mutex_
  std::size_t sleeping_without_deadline_ = 0; // guarded by mutex_: takers in ready_.wait()
  clock::time_point lingering_until_;         // guarded by mutex_: last take + defer_limit_
  std::size_t notified_ = 0;                  // guarded by mutex_
  const bool claiming_;                       // takers::one_claiming
  bool claimed_ = false;              // guarded by mutex_: the taker or a try_claim holds the jobs
  bool taker_holds_ = false;          // guarded by mutex_: the taker holds it (until its next take)
  std::size_t taken_ = 0;             // guarded by mutex_: how many jobs the taker holds
  std::size_t last_batch_ = 0;        // guarded by mutex_: jobs of the last claim, whoever held it
  std::size_t waiting_for_claim_ = 0; // guarded by mutex_: takers in take() waiting for it
  std::size_t asleep_ = 0;            // guarded by mutex_: takers asleep in take()
};

} // namespace parley::store
