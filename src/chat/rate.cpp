#include "chat/rate.hpp"

#include <algorithm>
#include <cmath>

namespace parley::chat {

token_buckets::token_buckets(double rate, double burst)
    : rate_(rate / 1000.0), burst_(std::max(1.0, burst)) {}

void token_buckets::refill(bucket& state, unix_ms now) const {
  if (now > state.updated) {
    state.tokens = std::min(burst_, state.tokens + double(now - state.updated) * rate_);
    state.updated = now;
  }
}

std::optional<std::chrono::milliseconds> token_buckets::take(std::int64_t key, unix_ms now) {
  if (rate_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= sweep_at_) {
    std::erase_if(buckets_, [&](const auto& item) {
      return item.second.tokens + double(now - item.second.updated) * rate_ >= burst_;
    });
    sweep_at_ = std::max<std::size_t>(1024, buckets_.size() * 2);
  }
  auto [found, inserted] = buckets_.try_emplace(key, bucket{burst_, now});
  auto& state = found->second;
  refill(state, now);
  if (state.tokens >= 1.0) {
    state.tokens -= 1.0;
    return std::nullopt;
  }
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil((1.0 - state.tokens) / rate_)));
}

std::size_t token_buckets::key_count() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

} // namespace parley::chat
