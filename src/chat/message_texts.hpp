#pragma once
// Messages kept as the JSON text that answers carry (chat::message_text), so that a page of
// history read again is not read from the store and written out again message by message.
//
// An entry is one message's text at one version (store::message_version: its latest change
// and, for a reply, the quoted message's). Readers ask with the version the store has now, in
// the transaction they read in: the same version is the same text; any other is a miss, and
// the reader writes the message and keeps the new text. So nothing is ever invalidated, and
// every node of a cluster may keep its own. The texts are bounded by a budget of bytes.
//
// Built for many readers on few cores: the entries are split over shards by message id, each
// with its own mutex, held only to copy a text out or put one in; a hit touches its entry and
// nothing else (eviction is "second chance": each shard's entries wait in a queue in the
// order they came, and one used since it was last looked at goes round again instead of out).

#include "store/rows.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::chat {

class message_texts {
public:
  /// `budget` bytes of texts and their bookkeeping; 0 keeps nothing.
  explicit message_texts(std::size_t budget);
  message_texts(const message_texts&) = delete;
  message_texts& operator=(const message_texts&) = delete;

  /// Appends the message's text kept at `updated_seq` to `out` and returns the version it was
  /// kept at (the caller checks its quote's part), or nullopt (and `out` unchanged). Counts
  /// neither a hit nor a miss: the caller does (count), once it has checked the quote.
  std::optional<store::message_version> append_at(store::id message, store::id updated_seq,
                                                  std::string& out);
  /// Counts what a page found by append_at (`hits`) and read instead (`misses`).
  void count(std::size_t hits, std::size_t misses);
  /// Keeps `text` as the message's text at `version` (in place of any other), then lets the
  /// shard's oldest texts not used since the queue last passed them go until it is within its
  /// share of the budget (never the text just kept). A text longer than that share is not kept.
  void keep(const store::message_version& version, std::string_view text);

  struct counts {
    std::size_t entries = 0;
    std::size_t bytes = 0; ///< Counted against the budget.
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  [[nodiscard]] counts statistics() const;

  /// What an entry costs besides its text's characters (its node in the map, its place in the
  /// queue, the text's allocation): counted against the budget, so short texts cannot pass it.
  static constexpr std::size_t entry_overhead = 128;
  static constexpr std::size_t shards = 16;

private:
  struct entry {
    store::message_version version;
    std::string text;
    bool used = false; ///< Found since the queue last came to it.
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<store::id, entry> entries;
    std::deque<store::id> queue; ///< Every entry's id once, oldest first.
    std::size_t bytes = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };

  [[nodiscard]] static std::size_t cost(std::size_t text) { return text + entry_overhead; }
  [[nodiscard]] shard& shard_of(store::id message) {
    return shards_[static_cast<std::size_t>(message) % shards];
  }

  const std::size_t budget_; ///< Per shard.
  std::array<shard, shards> shards_;
};

} // namespace parley::chat
