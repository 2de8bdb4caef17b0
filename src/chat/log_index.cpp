#include "chat/log_index.hpp"

#include <algorithm>

namespace parley::chat {

using store::id;
using store::message_position;

log_index::log_index(std::size_t budget) : budget_(budget) {}

void log_index::touch(kept& conversation) {
  use_.splice(use_.begin(), use_, conversation.use);
}

void log_index::erase(std::unordered_map<id, kept>::iterator at) {
  bytes_ -= cost(at->second);
  use_.erase(at->second.use);
  kept_.erase(at);
}

log_index::seen log_index::find(id conversation, id last_seq, std::optional<id> before, id from_seq,
                                int limit, std::vector<message_position>& out) {
  out.clear();
  const std::lock_guard lock(mutex_);
  const auto at = kept_.find(conversation);
  if (at == kept_.end()) {
    return {};
  }
  auto& here = at->second;
  touch(here);
  const auto& positions = here.positions;
  seen result{false, here.as_of, here.floor,
              positions.empty() ? std::nullopt : std::optional<id>(positions.front().message_id)};
  if (here.as_of != last_seq) {
    return result;
  }
  out.reserve(std::size_t(limit));
  // Below `before`: ids grow with seq within a conversation, as the store's pages assume.
  auto next = before
                  ? std::ranges::lower_bound(positions, *before, {}, &message_position::message_id)
                  : positions.end();
  bool reached = false; // a message at or below from_seq, or all of them
  while (out.size() < std::size_t(limit)) {
    if (next == positions.begin()) {
      reached = here.floor <= from_seq;
      break;
    }
    --next;
    if (next->seq <= from_seq) {
      reached = true;
      break;
    }
    out.push_back(*next);
  }
  result.page = reached || out.size() == std::size_t(limit);
  if (!result.page) {
    out.clear();
  }
  return result;
}

void log_index::start(id conversation, id as_of) {
  if (conversation_overhead > budget_) {
    return;
  }
  const std::lock_guard lock(mutex_);
  if (const auto at = kept_.find(conversation); at != kept_.end()) {
    erase(at);
  }
  use_.push_front(conversation);
  auto& here = kept_[conversation];
  here.as_of = as_of;
  here.floor = as_of;
  here.use = use_.begin();
  bytes_ += cost(here);
  shed(conversation);
}

void log_index::advance(id conversation, id from, id to,
                        std::span<const message_position> changed) {
  const std::lock_guard lock(mutex_);
  const auto at = kept_.find(conversation);
  if (at == kept_.end() || at->second.as_of != from || to < from) {
    return;
  }
  auto& here = at->second;
  auto& positions = here.positions;
  std::vector<message_position> added;
  for (const auto& change : changed) {
    if (change.updated_seq <= from || change.updated_seq > to) {
      erase(at); // not what was asked for: keep nothing rather than guess
      return;
    }
    if (change.seq > from) {
      added.push_back(change); // sent since
    } else if (change.seq > here.floor) {
      const auto found =
          std::ranges::lower_bound(positions, change.seq, {}, &message_position::seq);
      if (found == positions.end() || found->message_id != change.message_id) {
        erase(at);
        return;
      }
      found->updated_seq = change.updated_seq;
    } // else below what is kept
  }
  std::ranges::sort(added, {}, &message_position::seq);
  bytes_ -= cost(here);
  positions.insert(positions.end(), added.begin(), added.end());
  here.as_of = to;
  bytes_ += cost(here);
  shed(conversation);
}

void log_index::extend(id conversation, id as_of, id floor, std::span<const message_position> below,
                       bool complete) {
  const std::lock_guard lock(mutex_);
  const auto at = kept_.find(conversation);
  if (at == kept_.end() || at->second.as_of != as_of || at->second.floor != floor) {
    return;
  }
  // Newest first, each below the one before, the first at or below the floor (every kept
  // position is above it); else keep nothing rather than guess.
  const bool fits = (below.empty() || below.front().seq <= floor) &&
                    std::ranges::adjacent_find(below, std::ranges::less_equal(),
                                               &message_position::seq) == below.end();
  if (!fits) {
    erase(at);
    return;
  }
  auto& here = at->second;
  bytes_ -= cost(here);
  for (const auto& position : below) {
    here.positions.push_front(position);
  }
  if (complete) {
    here.floor = 0;
  } else if (!below.empty()) {
    here.floor = below.back().seq - 1;
  }
  bytes_ += cost(here);
  shed(conversation);
}

void log_index::count(bool found) {
  (found ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
}

void log_index::shed(id growing) {
  while (bytes_ > budget_ && use_.back() != growing) {
    erase(kept_.find(use_.back()));
  }
  if (bytes_ <= budget_) {
    return;
  }
  auto& here = kept_.find(growing)->second; // the only one left, and too large alone
  while (bytes_ > budget_ && !here.positions.empty()) {
    here.floor = here.positions.front().seq;
    here.positions.pop_front();
    bytes_ -= position_cost;
  }
}

log_index::counts log_index::statistics() const {
  const std::lock_guard lock(mutex_);
  counts total{kept_.size(), 0, bytes_, hits_.load(std::memory_order_relaxed),
               misses_.load(std::memory_order_relaxed)};
  for (const auto& [conversation, here] : kept_) {
    total.positions += here.positions.size();
  }
  return total;
}

} // namespace parley::chat
