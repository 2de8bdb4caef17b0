#include "media/workers.hpp"

#include "common/thread_name.hpp"

#include <algorithm>

namespace parley::media {

worker_pool::worker_pool(options settings) : queue_limit_(settings.queue_limit) {
  const std::size_t count = std::max<std::size_t>(1, settings.threads);
  threads_.reserve(count);
  for (std::size_t index = 0; index < count; ++index) {
    threads_.push_back(common::named_thread(settings.name, [this] { work_loop(); }));
  }
}

worker_pool::~worker_pool() {
  stop();
}

void worker_pool::submit(std::unique_ptr<job> work) {
  std::optional<pool_error> refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      refused = pool_error::stopped;
    } else if (jobs_.size() >= queue_limit_) {
      refused = pool_error::busy;
      ++statistics_.refused;
    } else {
      jobs_.push_back(std::move(work));
    }
  }
  if (refused) {
    work->refuse(*refused);
    return;
  }
  ready_.notify_one();
}

void worker_pool::stop() {
  std::call_once(stopped_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  });
}

worker_pool::statistics worker_pool::stats() const {
  std::lock_guard lock(mutex_);
  statistics current = statistics_;
  current.queued = jobs_.size();
  return current;
}

void worker_pool::work_loop() {
  for (;;) {
    std::unique_ptr<job> next;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) {
        return; // stopping, and everything queued has been taken
      }
      next = std::move(jobs_.front());
      jobs_.pop_front();
    }
    next->run();
    std::lock_guard lock(mutex_);
    ++statistics_.completed;
  }
}

} // namespace parley::media
