#include "chat/message_texts.hpp"

namespace parley::chat {

message_texts::message_texts(std::size_t budget) : budget_(budget / shards) {}

std::optional<store::message_version>
message_texts::append_at(store::id message, store::id updated_seq, std::string& out) {
  auto& part = shard_of(message);
  const std::lock_guard lock(part.mutex);
  const auto found = part.entries.find(message);
  if (found == part.entries.end() || found->second.version.updated_seq != updated_seq) {
    return std::nullopt;
  }
  found->second.used = true;
  out += found->second.text;
  return found->second.version;
}

void message_texts::count(std::size_t hits, std::size_t misses) {
  auto& part = shards_.front();
  const std::lock_guard lock(part.mutex);
  part.hits += hits;
  part.misses += misses;
}

void message_texts::keep(const store::message_version& version, std::string_view text) {
  if (cost(text.size()) > budget_) {
    return;
  }
  auto& part = shard_of(version.message_id);
  const std::lock_guard lock(part.mutex);
  auto [found, added] = part.entries.try_emplace(version.message_id);
  auto& kept = found->second;
  if (added) {
    part.queue.push_back(version.message_id);
  } else {
    part.bytes -= cost(kept.text.size()); // a newer version in the same place
  }
  kept.version = version;
  kept.text.assign(text);
  kept.used = false;
  part.bytes += cost(text.size());
  while (part.bytes > budget_) {
    const auto oldest = part.queue.front();
    part.queue.pop_front();
    auto candidate = part.entries.find(oldest);
    if (candidate->second.used || oldest == version.message_id) {
      candidate->second.used = false; // a second chance (the text just kept stays)
      part.queue.push_back(oldest);
      continue;
    }
    part.bytes -= cost(candidate->second.text.size());
    part.entries.erase(candidate);
  }
}

message_texts::counts message_texts::statistics() const {
  counts total;
  for (const auto& part : shards_) {
    const std::lock_guard lock(part.mutex);
    total.entries += part.entries.size();
    total.bytes += part.bytes;
    total.hits += part.hits;
    total.misses += part.misses;
  }
  return total;
}

} // namespace parley::chat
