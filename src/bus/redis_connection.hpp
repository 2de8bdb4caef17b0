#pragma once
// What the client and the subscriber share: one link at a time to one endpoint, with name
// resolution, connect and handshake timeout, reconnect with backoff, the deadline timer
// (command and confirmation timeouts) and the liveness timer.
//
// States: idle -> (resolving) -> connecting (link open, handshake under way) -> ready
//         -> closed -> backoff -> connecting ... ; stopped is final.

#include "bus/redis.hpp"
#include "bus/redis_link.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

struct redisReply;

namespace parley::bus::redis::detail {

// Copies a hiredis reply into an owned one.
reply to_reply(const redisReply* r);

class connection_base : public link_owner, public std::enable_shared_from_this<connection_base> {
public:
  connection_base(boost::asio::any_io_executor executor, endpoint where, options opts,
                  const char* role);
  virtual ~connection_base();
  connection_base(const connection_base&) = delete;
  connection_base& operator=(const connection_base&) = delete;

  void start();
  void stop();
  [[nodiscard]] bool is_ready() const { return ready_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const { return executor_; }

  std::function<void(boost::system::error_code)> on_disconnected;

protected:
  // The TCP connection is up: send the handshake, call mark_ready() when it is done.
  virtual void begin_handshake(link& l) = 0;
  // Every ping_interval while ready.
  virtual void send_probe(link& l) = 0;
  // The link is gone (or stop()): drop per-connection state.
  virtual void link_down(boost::system::error_code reason) = 0;
  // The earliest deadline of anything awaited on the current link.
  [[nodiscard]] virtual std::optional<clock::time_point> earliest_deadline() const;
  // Called after mark_ready's bookkeeping (to call the owner's callback).
  virtual void became_ready() = 0;

  void link_pubsub(link&, const redisReply*) override {}

  // Sends AUTH/SELECT (as configured) then calls `next` on success; a failure closes.
  void send_auth_and_select(link& l, bool select, std::move_only_function<void()> next);
  void mark_ready();
  // Drops the current link (commands pending on it fail with `reason`).
  void fail(boost::system::error_code reason, std::string_view why);
  // The deadline timer fires no later than `deadline` and checks earliest_deadline().
  void watch_deadline(clock::time_point deadline);
  [[nodiscard]] link* current() const { return link_.get(); }
  [[nodiscard]] bool is_current(const link* l) const { return l != nullptr && l == link_.get(); }
  [[nodiscard]] bool is_stopped() const { return stopped_; }

  boost::asio::any_io_executor executor_;
  endpoint where_;
  options opts_;
  const char* role_;

private:
  void link_connected(link& l) final;
  void link_closed(link& l, boost::system::error_code reason, const std::string& detail) final;
  void connect_now();
  void open_link(const std::string& address);
  void schedule_reconnect();
  void schedule_ping();
  void on_deadline(std::uint64_t sequence);

  bool started_ = false;
  bool stopped_ = false;
  bool ready_ = false;
  std::shared_ptr<link> link_;
  std::uint64_t generation_ = 0; // bumped for every link and on stop
  unsigned attempt_ = 0;         // failed attempts since the last ready connection
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer ping_timer_;
  boost::asio::steady_timer deadline_timer_;
  bool deadline_armed_ = false;
  clock::time_point deadline_at_{};
  std::uint64_t deadline_sequence_ = 0;
  std::minstd_rand jitter_;
};

} // namespace parley::bus::redis::detail
