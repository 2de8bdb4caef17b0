#pragma once
// Who is online across the nodes, on leases (never on keyspace events): each node holds a
// lease in Redis that it renews every few seconds, and records which of its users have sockets
// on it. A user is online while some node with a live lease has them; when a node dies without
// a word (SIGKILL, a lost machine), its lease lapses and a sweep, run by every node every
// couple of seconds and atomic in Redis (one Lua script), takes its users off: those it leaves
// on no node are reported offline, each by exactly one node. Times come from Redis's clock, so
// the nodes' clocks do not matter. A node whose lease lapsed while it lived (a long pause, or
// Redis restarted empty) registers its users again at its next renewal.
//
// Thread-safety: every member may be called from any thread; callbacks run on the presence's
// own strand.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bus {

struct presence_options {
  std::chrono::milliseconds lease{10'000};  ///< A node is dead this long after its last renewal.
  std::chrono::milliseconds renew{3'000};   ///< How often a node renews its lease.
  std::chrono::milliseconds sweep{2'000};   ///< How often a node sweeps the dead ones.
};

class presence {
public:
  virtual ~presence() = default;
  /// Set before start(): users left on no live node by a sweep (offline now).
  virtual void on_offline(std::function<void(std::vector<std::int64_t>)> callback) = 0;
  /// Set before start(): this node's users (registered again when the lease was lost).
  virtual void local_users(std::function<std::vector<std::int64_t>()> callback) = 0;
  /// Set before start(): users registered again after the lease was lost who were on no other
  /// node meanwhile (online again).
  virtual void on_online(std::function<void(std::vector<std::int64_t>)> callback) = 0;
  /// Set before start(): some node has left the cluster since this node's previous sweep
  /// (its lease lapsed, it said goodbye, or it came back under its name after dying). A node
  /// killed between committing a change and publishing it leaves a gap that no later publish
  /// shows: the receiver reads what it may have missed, as after a bus outage. Counted in Redis
  /// (each departure once), so every node hears of each departure at its next sweep.
  virtual void on_departure(std::function<void()> callback) = 0;
  virtual void start() = 0;
  /// Final; takes this node's users off (a clean goodbye) when Redis can be reached.
  virtual void stop() = 0;

  /// A user's first socket on this node: true when no live node had them before (they have
  /// just come online). Without Redis: true.
  virtual boost::asio::awaitable<bool> arrived(std::int64_t user) = 0;
  /// Their last socket on this node left: true when no live node has them any more. Without
  /// Redis: true.
  virtual boost::asio::awaitable<bool> left(std::int64_t user) = 0;
  /// Whether each user is on some live node (without Redis: nullopt, and callers ask the hub).
  virtual boost::asio::awaitable<std::optional<std::vector<bool>>>
  online(std::vector<std::int64_t> users) = 0;
};

/// Presence in Redis at `url` under the cluster's key prefix, for the node `node`.
[[nodiscard]] std::unique_ptr<presence>
make_redis_presence(boost::asio::any_io_executor executor, std::string_view url,
                    std::string prefix, std::string node, presence_options options = {});

} // namespace parley::bus
