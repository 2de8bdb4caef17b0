#pragma once
// The bus between nodes: opaque payloads that one node publishes and every other node
// receives. What they mean is the chat layer's business (chat/relay.hpp); the bus only carries
// them, in the order each node published them, at most once. PostgreSQL stays the truth: when
// payloads may have been lost (the connection to Redis dropped, or the bus has just started),
// `on_resynchronise` runs and the receiver reads what it missed from the database.
//
// Thread-safety: publish() may be called from any thread; callbacks run on the bus's own
// executor, one at a time.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace parley::bus {

class transport {
public:
  virtual ~transport() = default;
  /// Set before start(): a payload published by another node.
  virtual void on_receive(std::function<void(std::string_view payload)> callback) = 0;
  /// Set before start(): from now on every payload published reaches this node, and some
  /// published before may have been lost (after a reconnection, and once at the start).
  virtual void on_resynchronise(std::function<void()> callback) = 0;
  virtual void start() = 0;
  /// Final. No callback runs after it returns.
  virtual void stop() = 0;
  /// Sends `payload` to every other node; payloads of one node arrive in the order published.
  /// While Redis is away they wait (up to 100,000, the oldest dropped first) and go out once
  /// the publisher is connected again.
  virtual void publish(std::string payload) = 0;
  /// True while connected and subscribed.
  [[nodiscard]] virtual bool ready() const = 0;
};

/// Redis PUB/SUB on one channel: `url` is redis://HOST:PORT[/DB]; `channel` is the cluster's
/// (every node of one database uses the same, and no other cluster on that Redis does); `node`
/// names this node (its own payloads are not handed back to it). Throws std::invalid_argument
/// for a bad URL.
/// `delay` holds every publish back that long: a fault hook for the tests (a commit whose
/// publish is overtaken by another node's), never for production.
[[nodiscard]] std::unique_ptr<transport>
make_redis_transport(boost::asio::any_io_executor executor, std::string_view url,
                     std::string channel, std::string node,
                     std::chrono::milliseconds delay = std::chrono::milliseconds(0));

} // namespace parley::bus
