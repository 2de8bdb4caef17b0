#pragma once
// Where each conversation's messages are in its log, kept in memory for the conversations
// read lately, so that a page of history read again is found without a scan of the store's
// index: a conversation's positions (store::message_position: id, seq, latest change) from
// its newest message down to a floor, as of one seq of its log (its latest change then).
//
// A reader asks with the conversation's last_seq read in its own transaction, and kept
// positions answer only when they are as of exactly that seq: a page found here is the page
// the store would give in that transaction. Positions that are behind are brought up to it
// with the messages changed since (store: positions_changed_after), as a syncing client is; a
// page that reaches below the floor has the positions under it read and laid below. Each
// update names the state it applies to and is dropped when another reader has moved that
// state on, so readers in different transactions never mix. Every node keeps its own.
//
// Bounded by a budget of bytes: the conversations used longest ago go first, and a single
// conversation larger than the budget keeps its newest positions only. One mutex, held to copy
// a page's positions out or to apply an update (never while the store is read).

#include "store/rows.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace parley::chat {

class log_index {
public:
  /// `budget` bytes of positions and their bookkeeping; 0 keeps nothing.
  explicit log_index(std::size_t budget);
  log_index(const log_index&) = delete;
  log_index& operator=(const log_index&) = delete;

  /// What find saw of a conversation's kept positions.
  struct seen {
    bool page = false;                  ///< The page was found (in `out`).
    std::optional<store::id> as_of;     ///< nullopt: nothing kept.
    store::id floor = 0;                ///< Every message with seq above it is kept (to as_of).
    std::optional<store::id> lowest_id; ///< The kept message lowest in the log.
  };
  /// The page (up to `limit` messages with ids below `before`, all when nullopt, and seq above
  /// `from_seq`, newest first) into `out`, when the kept positions are as of `last_seq` and
  /// reach down far enough; else `out` is empty and `page` false.
  seen find(store::id conversation, store::id last_seq, std::optional<store::id> before,
            store::id from_seq, int limit, std::vector<store::message_position>& out);

  /// Starts keeping the conversation as of `as_of` with no position yet (floor = as_of), in
  /// place of anything kept.
  void start(store::id conversation, store::id as_of);
  /// Brings positions kept as of `from` up to `to` with `changed`: every message whose latest
  /// change is in (from, to], in any order. Nothing when they are not as of `from` any more;
  /// forgets them when `changed` does not fit what is kept.
  void advance(store::id conversation, store::id from, store::id to,
               std::span<const store::message_position> changed);
  /// Lays `below` (the positions under the lowest kept one, newest first, read as of `as_of`
  /// when the floor was `floor`; down to the conversation's first message when `complete`)
  /// under the kept positions. Nothing when they have moved on.
  void extend(store::id conversation, store::id as_of, store::id floor,
              std::span<const store::message_position> below, bool complete);
  /// Counts a page whose positions came from here (`found`), or from the store.
  void count(bool found);

  struct counts {
    std::size_t conversations = 0;
    std::size_t positions = 0;
    std::size_t bytes = 0;    ///< Counted against the budget.
    std::uint64_t hits = 0;   ///< Pages found here (after an update or not).
    std::uint64_t misses = 0; ///< Pages read from the store.
  };
  [[nodiscard]] counts statistics() const;

  /// What a conversation costs besides its positions (its node in the map, the first block
  /// and the map of its deque, its place in the use order).
  static constexpr std::size_t conversation_overhead = 768;
  static constexpr std::size_t position_cost = sizeof(store::message_position);
  /// Below this, a conversation could not keep a few pages of positions: not worth keeping.
  static constexpr std::size_t least_budget = 64 << 10;

private:
  struct kept {
    store::id as_of = 0;
    store::id floor = 0;
    std::deque<store::message_position> positions; ///< Ascending by seq (and so by id).
    std::list<store::id>::iterator use;            ///< Its place in use_ (front: latest).
  };

  [[nodiscard]] static std::size_t cost(const kept& conversation) {
    return conversation_overhead + conversation.positions.size() * position_cost;
  }
  void touch(kept& conversation);
  void erase(std::unordered_map<store::id, kept>::iterator at);
  /// Within the budget again: other conversations go, least used first, then `growing`'s
  /// oldest positions (its floor rises).
  void shed(store::id growing);

  const std::size_t budget_;
  mutable std::mutex mutex_;
  std::unordered_map<store::id, kept> kept_;
  std::list<store::id> use_;
  std::size_t bytes_ = 0;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

} // namespace parley::chat
