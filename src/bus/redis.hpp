#pragma once
// A Redis client for the cross-node bus, on hiredis 0.14 with an Asio adapter of our own.
//
// Two classes, one connection each:
//   - `client` runs commands (PUBLISH, GET, ...). Every command has a timeout; when one
//     expires the connection is considered dead, dropped and reconnected, and every command
//     pending on it fails. A PING every `ping_interval` detects a dead server or a half-open
//     TCP connection even when the owner sends nothing.
//   - `subscriber` keeps a set of wanted channels and patterns, subscribes them after every
//     (re)connection and calls `on_ready` once the server has confirmed them all: from then
//     on every message published is delivered, until `on_disconnected`. Redis PUB/SUB is
//     at-most-once, so the owner reads what it missed from the database in `on_ready`.
//     Liveness: a SUBSCRIBE of a private probe channel every `ping_interval`, answered by
//     a confirmation within `ping_timeout` (hiredis 0.14 misroutes the reply to PING in
//     subscribed mode).
//
// Both reconnect forever with a capped exponential backoff (with jitter) until `stop()`.
//
// Threading: an object lives on the executor given to its constructor (one thread or a
// strand). Call every member function there, and destroy the object there (or while the
// executor's io_context is not running, but before that io_context is destroyed).
// Callbacks run on that executor, inline; they may call any member, `stop()` included.
// After `stop()` no callback runs again; commands still pending complete with
// `error::stopped` (command completions are always posted, never inline).

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace parley::bus::redis {

// ---------------------------------------------------------------------------------------
// Errors (a command that reached Redis and got an error reply does NOT complete with an
// error_code: it completes with a `reply` of kind `error`).
enum class error {
  not_connected = 1,   // no ready connection: the command was not sent
  timeout,             // no reply within the timeout; the connection was recycled
  connection_lost,     // the connection closed while the command was pending
  stopped,             // stop() was called
  invalid_argument,    // empty command, or too many arguments
  unsupported_command, // (P|S)SUBSCRIBE, MONITOR, HELLO...: would desynchronise the client
  protocol_error,      // an answer that does not fit what was asked
};
const boost::system::error_category& error_category();
boost::system::error_code make_error_code(error e);

// ---------------------------------------------------------------------------------------
// Where the server is: redis://[[user]:password@]host[:port][/db]
struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int database = 0;
  std::string username; // an ACL user (Redis 6+); empty: AUTH password alone
  std::string password; // empty: no AUTH

  // redis://host:port/db, the password masked.
  [[nodiscard]] std::string to_string() const;
};

// Parses a redis:// URL. IPv6 hosts go in brackets: redis://[::1]:6379. The error says
// what is wrong with the input.
std::expected<endpoint, std::string> parse_url(std::string_view url);

// ---------------------------------------------------------------------------------------
// A reply, owned (copied out of hiredis).
struct reply {
  enum class kind { nil, integer, string, status, error, array };

  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string str;             // string, status and error
  std::vector<reply> elements; // array

  [[nodiscard]] bool is_nil() const { return type == kind::nil; }
  [[nodiscard]] bool is_error() const { return type == kind::error; }
  [[nodiscard]] bool is_string() const { return type == kind::string; }
  [[nodiscard]] bool is_status() const { return type == kind::status; }
  [[nodiscard]] bool is_integer() const { return type == kind::integer; }
  [[nodiscard]] bool is_array() const { return type == kind::array; }
  friend bool operator==(const reply&, const reply&) = default;
};

std::string_view to_string(reply::kind k);

// ---------------------------------------------------------------------------------------
struct options {
  // TCP connect plus handshake (AUTH, SELECT, first PING, or the first subscriptions).
  std::chrono::milliseconds connect_timeout{3000};
  // Every command, and every SUBSCRIBE/UNSUBSCRIBE confirmation.
  std::chrono::milliseconds command_timeout{3000};
  // Liveness probes: sent every ping_interval, must be answered within ping_timeout.
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds ping_timeout{3000};
  // Reconnect backoff: min, doubled after every failed attempt, capped at max; +-20% jitter.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
  // A name for the logs ("bus.redis name=... ").
  std::string name = "redis";
};

namespace detail {
class client_impl;
class subscriber_impl;
} // namespace detail

// ---------------------------------------------------------------------------------------
class client {
public:
  using executor_type = boost::asio::any_io_executor;
  using completion_signature = void(boost::system::error_code, reply);

  client(executor_type executor, endpoint where, options opts = {});
  ~client(); // stop()
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Set before start().
  void on_connected(std::function<void()> callback);
  void on_disconnected(std::function<void(boost::system::error_code)> callback);

  void start();                         // connects, and keeps reconnecting until stop()
  void stop();                          // final
  [[nodiscard]] bool connected() const; // the handshake is done: commands are sent

  // Runs a command, for instance {"SET", key, value}; arguments are binary safe. Fails
  // fast with error::not_connected when there is no ready connection. Pipelined: commands
  // are sent at once and answered in order.
  template <class CompletionToken>
  auto command(std::vector<std::string> args, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, completion_signature>(
        [this](auto handler, std::vector<std::string> args) {
          submit(std::move(args),
                 boost::asio::any_completion_handler<completion_signature>(std::move(handler)));
        },
        token, std::move(args));
  }

  [[nodiscard]] executor_type get_executor() const;

private:
  void submit(std::vector<std::string> args,
              boost::asio::any_completion_handler<completion_signature> handler);
  std::shared_ptr<detail::client_impl> impl_;
};

// ---------------------------------------------------------------------------------------
struct message {
  std::string_view pattern; // empty unless delivered through a pattern subscription
  std::string_view channel;
  std::string_view payload;
};

class subscriber {
public:
  using executor_type = boost::asio::any_io_executor;

  subscriber(executor_type executor, endpoint where, options opts = {});
  ~subscriber(); // stop()
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  // Set before start(). The message's views are valid during the call only.
  void on_message(std::function<void(const message&)> callback);
  // Every wanted channel and pattern is confirmed after a (re)connection: run a gap check.
  void on_ready(std::function<void()> callback);
  // The connection was lost (after on_ready, or while confirming): messages may be lost.
  void on_disconnected(std::function<void(boost::system::error_code)> callback);

  void start();
  void stop(); // final

  // Change the wanted set; sent at once when connected, kept for every reconnection.
  // Messages of a channel are delivered from its confirmation until unsubscribe() is
  // called. Empty names are ignored.
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  void psubscribe(const std::string& pattern);
  void punsubscribe(const std::string& pattern);

  [[nodiscard]] bool ready() const; // connected and every subscription confirmed
  [[nodiscard]] std::vector<std::string> channels() const; // the wanted set, sorted
  [[nodiscard]] const std::string& probe_channel() const;  // the private liveness channel

private:
  std::shared_ptr<detail::subscriber_impl> impl_;
};

} // namespace parley::bus::redis

template <> struct boost::system::is_error_code_enum<parley::bus::redis::error> : std::true_type {};
