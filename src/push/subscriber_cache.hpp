#pragma once
// Which users have a push subscription, as the last read of the store found, so that a new
// message whose recipients are all connected elsewhere, or have no subscription at all, costs
// no presence query (a Redis round trip per message) and no read.
//
// "Has one" may go stale harmlessly: the planner then asks presence and reads the targets, and
// finds none. "Has none" must not outlive a new subscription: `forget(user)` runs when the user
// subscribes on any node (chat relays the word over the bus), `forget_all()` when the bus may
// have lost words (it reconnected, or a node left), and every entry lapses after `ttl` besides.
// A read that began before a forget does not teach what it found (`generation`).
//
// Thread-safety: every member may be called from any thread.

#include "common/clock.hpp"
#include "store/rows.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace parley::push {

class subscriber_cache {
public:
  /// Entries lapse after `ttl`; past `capacity` users the cache starts again empty.
  subscriber_cache(std::chrono::milliseconds ttl, std::size_t capacity);

  /// To pass to learn() with what a read that starts now finds.
  [[nodiscard]] std::uint64_t generation() const;
  /// What a read begun at `generation` found: which of `users` have a subscription
  /// (`subscribed`: ascending; ignored when a forget came since).
  void learn(std::span<const store::id> users, std::span<const store::id> subscribed,
             std::uint64_t generation, unix_ms now);

  enum class known { subscribed, none, unknown };
  [[nodiscard]] known lookup(store::id user, unix_ms now) const;
  /// Those of `users` with a subscription, in their order, when every one of them is known;
  /// nullopt when some is not (one lock for them all).
  [[nodiscard]] std::optional<std::vector<store::id>>
  subscribed_among(std::span<const store::id> users, unix_ms now) const;
  /// True when every one of `users` is known to have no subscription.
  [[nodiscard]] bool none_subscribed(std::span<const store::id> users, unix_ms now) const;

  void forget(store::id user);
  void forget_all();

private:
  struct entry {
    bool subscribed = false;
    unix_ms learned_at = 0;
  };
  [[nodiscard]] known lookup_locked(store::id user, unix_ms now) const;

  const std::chrono::milliseconds ttl_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<store::id, entry> users_; // guarded by mutex_
  std::uint64_t generation_ = 0;               // guarded by mutex_
};

} // namespace parley::push
