#pragma once
// One hiredis connection (redisAsyncContext) driven by Asio: the adapter.
//
// The context's socket is watched through a posix::stream_descriptor with async_wait; the
// descriptor never owns the fd (hiredis closes it, so the cleanup hook release()s it
// first). hiredis frees the context itself (on error, on EOF, on redisAsyncFree) after
// running every pending callback with a NULL reply and calling the cleanup hook: the link
// keeps itself alive until then, and tells its owner `link_closed` in a posted handler, so
// the owner never runs inside hiredis's free.
//
// A link is single use: once closed, make a new one.

#include "bus/redis.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

struct redisAsyncContext;
struct redisReply;

namespace parley::bus::redis::detail {

using clock = std::chrono::steady_clock;

class link;

class link_owner {
public:
  // The TCP connection is up (called inline, from inside hiredis).
  virtual void link_connected(link& l) = 0;
  // A reply to a (P)(UN)SUBSCRIBE or a message (called inline, from inside hiredis);
  // nullptr when the context is being freed.
  virtual void link_pubsub(link& l, const redisReply* r) = 0;
  // The context is gone (posted, exactly once per opened link).
  virtual void link_closed(link& l, boost::system::error_code reason,
                           const std::string& detail) = 0;

protected:
  ~link_owner() = default;
};

class link : public std::enable_shared_from_this<link> {
public:
  // nullptr reply: the context is being freed; the error_code then says why.
  using reply_fn = std::move_only_function<void(boost::system::error_code, const redisReply*)>;

  link(boost::asio::any_io_executor executor, link_owner* owner);
  ~link();
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  // Starts a non-blocking connect to a numeric address. An error means nothing was opened
  // (and link_closed will not be called).
  boost::system::error_code open(const std::string& address, std::uint16_t port);

  // Queues a command whose reply goes to `fn` (in order). False when the link is closed
  // or closing: `fn` is then dropped without a call.
  bool command(std::span<const std::string> args, clock::time_point deadline, reply_fn fn);
  // Queues a (P)(UN)SUBSCRIBE: confirmations and messages go to link_owner::link_pubsub.
  bool pubsub_command(std::span<const std::string> args);

  // Frees the context (maybe deferred by hiredis until its callback returns). Pending
  // commands get `reason`. Idempotent.
  void close(boost::system::error_code reason);
  // No more calls to the owner (for an owner that goes away first).
  void detach() { owner_ = nullptr; }

  [[nodiscard]] bool open() const { return context_ != nullptr && !closing_; }
  [[nodiscard]] std::optional<clock::time_point> earliest_deadline() const;
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

private:
  struct pending_command {
    clock::time_point deadline;
    reply_fn fn;
  };

  static void on_add_read(void* data);
  static void on_del_read(void* data);
  static void on_add_write(void* data);
  static void on_del_write(void* data);
  static void on_cleanup(void* data);
  static void on_connect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* data);
  static void on_pubsub(redisAsyncContext* context, void* reply, void* data);

  void arm_read();
  void arm_write();
  void cleanup();

  boost::asio::any_io_executor executor_;
  link_owner* owner_;
  boost::asio::posix::stream_descriptor socket_;
  redisAsyncContext* context_ = nullptr;
  std::shared_ptr<link> self_; // from open() until hiredis's cleanup
  bool closing_ = false;
  bool want_read_ = false, read_armed_ = false;
  bool want_write_ = false, write_armed_ = false;
  boost::system::error_code reason_;
  std::string open_error_; // hiredis's words for a failure, for the logs
  std::deque<pending_command> pending_;
};

} // namespace parley::bus::redis::detail
