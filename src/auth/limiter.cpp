#include "auth/limiter.hpp"

#include <algorithm>

namespace parley::auth {

sliding_window_limiter::sliding_window_limiter(std::size_t limit, std::chrono::milliseconds window)
    : limit_(limit), window_(window) {}

void sliding_window_limiter::prune(std::deque<unix_ms>& events, unix_ms now) const {
  while (!events.empty() && events.front() + window_.count() <= now) {
    events.pop_front();
  }
}

std::optional<std::chrono::milliseconds> sliding_window_limiter::wait_time(std::string_view key,
                                                                           unix_ms now) {
  std::lock_guard lock(mutex_);
  const auto found = events_.find(std::string(key));
  if (found == events_.end()) {
    return std::nullopt;
  }
  prune(found->second, now);
  if (found->second.size() < limit_) {
    return std::nullopt;
  }
  // The oldest event in the window leaves it first.
  return std::chrono::milliseconds(found->second.front() + window_.count() - now);
}

void sliding_window_limiter::record(std::string_view key, unix_ms now) {
  std::lock_guard lock(mutex_);
  auto& events = events_[std::string(key)];
  prune(events, now);
  events.push_back(now);
  while (events.size() > limit_) {
    events.pop_front();
  }
  if (events_.size() >= sweep_at_) {
    sweep(now);
  }
}

void sliding_window_limiter::forget(std::string_view key, unix_ms at) {
  std::lock_guard lock(mutex_);
  const auto found = events_.find(std::string(key));
  if (found == events_.end()) {
    return;
  }
  auto& events = found->second;
  if (const auto event = std::find(events.rbegin(), events.rend(), at); event != events.rend()) {
    events.erase(std::next(event).base());
  }
}

std::size_t sliding_window_limiter::key_count() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

void sliding_window_limiter::sweep(unix_ms now) {
  for (auto iterator = events_.begin(); iterator != events_.end();) {
    prune(iterator->second, now);
    iterator = iterator->second.empty() ? events_.erase(iterator) : std::next(iterator);
  }
  sweep_at_ = std::max<std::size_t>(1024, events_.size() * 2);
}

} // namespace parley::auth
