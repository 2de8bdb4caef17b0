#pragma once
// Posts held while a batch is open on this thread, then handed to each executor as one post.
// The store's writer opens one around a group commit's completions: the jobs' results and the
// deliveries they make reach each I/O thread in one hand-off (one wake-up of a sleeping
// thread, one lock of its queue) instead of one per job. The posts to one executor keep their
// order. Without an open batch, post() is boost::asio::post.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace parley::common {

class post_batch {
public:
  /// Opens a batch on this thread. Within an open one it joins that one (its posts go out
  /// with the outer batch's, in order, never ahead of them).
  post_batch() : owner_(open_ == nullptr) {
    if (owner_) {
      open_ = this;
    }
  }
  /// Hands over what was posted, one post per executor (the outer batch's owner does).
  ~post_batch() {
    if (!owner_) {
      return;
    }
    open_ = nullptr;
    for (auto& [executor, handlers] : groups_) {
      boost::asio::post(executor, [executor, handlers = std::move(handlers)]() mutable {
        run(executor, handlers);
      });
    }
  }
  post_batch(const post_batch&) = delete;
  post_batch& operator=(const post_batch&) = delete;

  /// Posts `handler` to `executor`: held by this thread's open batch, if any.
  template <class Handler>
  static void post(const boost::asio::any_io_executor& executor, Handler&& handler) {
    if (open_ == nullptr) {
      boost::asio::post(executor, std::forward<Handler>(handler));
      return;
    }
    auto& groups = open_->groups_;
    auto group =
        std::ranges::find_if(groups, [&](const auto& entry) { return entry.first == executor; });
    if (group == groups.end()) {
      groups.emplace_back(executor, held{});
      group = std::prev(groups.end());
    }
    group->second.emplace_back(std::forward<Handler>(handler));
  }

private:
  using held = std::vector<std::move_only_function<void()>>;

  // Runs the handlers in order. Should one throw, the rest still run, posted again, as they
  // would have as posts of their own.
  static void run(const boost::asio::any_io_executor& executor, held& handlers) {
    for (std::size_t index = 0; index < handlers.size(); ++index) {
      try {
        handlers[index]();
      } catch (...) {
        if (index + 1 < handlers.size()) {
          held rest(
              std::make_move_iterator(handlers.begin() + static_cast<std::ptrdiff_t>(index + 1)),
              std::make_move_iterator(handlers.end()));
          boost::asio::post(executor,
                            [executor, rest = std::move(rest)]() mutable { run(executor, rest); });
        }
        throw;
      }
    }
  }

  inline static thread_local post_batch* open_ = nullptr;
  bool owner_; ///< Opened the thread's batch (false: joined one already open).
  std::vector<std::pair<boost::asio::any_io_executor, held>> groups_;
};

} // namespace parley::common
