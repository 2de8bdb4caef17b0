#pragma once
// What connects a node to the others: the bus and presence over Redis (--bus), on a thread of
// their own, which also runs the relay's reads of what the bus lost. Without --bus it holds
// nothing but an idle thread, and the node is alone.

#include "bus/bus.hpp"
#include "bus/presence.hpp"
#include "chat/chat_service.hpp"
#include "config/config.hpp"
#include "app/io_context.hpp"
#include "http/metrics.hpp"
#include "socketio/hub.hpp"
#include "store/database.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <memory>
#include <thread>

namespace parley::app {

class cluster_link {
public:
  /// Opens the bus and presence when `settings.bus` is set; their names come from the database
  /// (every node of one database the same). Throws on a bad URL.
  cluster_link(const config::config& settings, store::database& database);
  ~cluster_link();
  cluster_link(const cluster_link&) = delete;
  cluster_link& operator=(const cluster_link&) = delete;

  /// Null without --bus.
  [[nodiscard]] bus::transport* bus() const { return bus_.get(); }
  [[nodiscard]] boost::asio::any_io_executor executor() { return context_.get_executor(); }

  /// The bus's counters in /metrics (none without --bus).
  void add_metrics(http::metrics& counters, chat::chat_service& chat) const;
  /// Hands what arrives to `chat` and starts both.
  void start(chat::chat_service& chat, socketio::hub& hub);
  /// After the database stopped (the last commits' deliveries still went out): stops both, and
  /// this node's lease and registrations leave Redis. Idempotent.
  void stop();
  /// After stop(): ends the thread and destroys what is left in its queue (io_context.hpp).
  void discard_pending();

private:
  app::io_context context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::unique_ptr<bus::transport> bus_;
  std::unique_ptr<bus::presence> presence_;
  bool stopped_ = false; ///< stop() ran (its second call must not wait on a stopped thread).
};

} // namespace parley::app
