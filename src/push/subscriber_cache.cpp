#include "push/subscriber_cache.hpp"

#include <algorithm>

namespace parley::push {

subscriber_cache::subscriber_cache(std::chrono::milliseconds ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(capacity) {}

std::uint64_t subscriber_cache::generation() const {
  const std::scoped_lock lock(mutex_);
  return generation_;
}

void subscriber_cache::learn(std::span<const store::id> users,
                             std::span<const store::id> subscribed, std::uint64_t generation,
                             unix_ms now) {
  const std::scoped_lock lock(mutex_);
  if (generation != generation_) {
    return; // a subscription came while the read ran: what it found may be old already
  }
  if (users_.size() + users.size() > capacity_) {
    users_.clear();
  }
  for (const auto user : users) {
    users_[user] = entry{std::ranges::binary_search(subscribed, user), now};
  }
}

subscriber_cache::known subscriber_cache::lookup_locked(store::id user, unix_ms now) const {
  const auto found = users_.find(user);
  if (found == users_.end() || now - found->second.learned_at >= ttl_.count()) {
    return known::unknown;
  }
  return found->second.subscribed ? known::subscribed : known::none;
}

subscriber_cache::known subscriber_cache::lookup(store::id user, unix_ms now) const {
  const std::scoped_lock lock(mutex_);
  return lookup_locked(user, now);
}

std::optional<std::vector<store::id>>
subscriber_cache::subscribed_among(std::span<const store::id> users, unix_ms now) const {
  std::vector<store::id> subscribed;
  const std::scoped_lock lock(mutex_);
  for (const auto user : users) {
    switch (lookup_locked(user, now)) {
    case known::unknown:
      return std::nullopt;
    case known::subscribed:
      subscribed.push_back(user);
      break;
    case known::none:
      break;
    }
  }
  return subscribed;
}

bool subscriber_cache::none_subscribed(std::span<const store::id> users, unix_ms now) const {
  const std::scoped_lock lock(mutex_);
  return std::ranges::all_of(
      users, [&](store::id user) { return lookup_locked(user, now) == known::none; });
}

void subscriber_cache::forget(store::id user) {
  const std::scoped_lock lock(mutex_);
  users_.erase(user);
  ++generation_;
}

void subscriber_cache::forget_all() {
  const std::scoped_lock lock(mutex_);
  users_.clear();
  ++generation_;
}

} // namespace parley::push
