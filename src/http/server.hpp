#pragma once
// The HTTP/1.1 server: Boost.Beast over Asio C++20 coroutines, one io_context and one
// thread per core. A connection lives on one io_context for its whole life, so its state is
// only ever touched by that context's single thread (an implicit strand).
//
// Bounded everywhere: header bytes, body bytes, time to receive a request, keep-alive idle
// time, connections per client address. Errors in the request get the contract's error shape
// (400, 405, 413, 431, 500). stop() drains: the listener closes, idle keep-alive connections
// close, requests in flight finish (their responses carry `Connection: close`), then wait()
// returns.

#include "http/metrics.hpp"
#include "http/router.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace parley::http {

/// A WebSocket upgrade request, handed over with its connection: the handler owns the stream
/// (and any bytes already read past the request) from then on.
struct upgrade_request {
  boost::beast::tcp_stream stream;
  request message;
  boost::beast::flat_buffer buffer;
  std::string client_address;
  /// The server counts the connection as open (and busy) until the last copy of this is
  /// gone: a handler that keeps the connection beyond its coroutine keeps a copy as long.
  std::shared_ptr<void> open;
};

/// Runs a WebSocket connection, or starts it and hands `open` on to what keeps it. Called on
/// the connection's executor.
using upgrade_handler =
    std::function<boost::asio::awaitable<void>(std::shared_ptr<upgrade_request> upgrade)>;

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080; ///< 0 picks a free port (see server::port()).
  std::size_t threads = 1;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::seconds header_timeout{10};
  /// Streaming routes: the longest wait for the next piece of a body being read, or for the
  /// client to take the next piece of an answer being written.
  std::chrono::seconds stream_timeout{30};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_connections_per_address = 512;
  std::chrono::seconds drain_timeout{10};
  bool trust_proxy = false;
  /// Paths starting with one of these prefixes accept bodies up to the given size instead of
  /// max_body_bytes (the Engine.IO endpoint takes its maxPayload).
  std::vector<std::pair<std::string, std::size_t>> body_limits;
  /// Called on each I/O thread, with its executor, before it runs: what it returns is kept
  /// until the thread is done (the store's reads and writes on I/O threads:
  /// store::database::read_here, write_here). Should it throw, the failure is logged and the
  /// thread runs without.
  std::function<std::shared_ptr<void>(const boost::asio::any_io_executor&)> thread_state;
};

class server {
public:
  /// `routes` and `counters` must outlive the server.
  server(server_options options, const router& routes, metrics& counters);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts the I/O threads. Throws std::system_error when the address is taken.
  void start();
  /// WebSocket upgrades of paths starting with `path_prefix` go to `handler`. Call before
  /// start().
  void on_upgrade(std::string path_prefix, upgrade_handler handler);
  /// Called once when draining starts (e.g. to close long-lived real-time sessions). Call
  /// before start().
  void on_drain(std::function<void()> listener);

  /// Starts draining; callable from any thread (a signal handler's completion included).
  /// Idempotent: the drain's deadline (drain_timeout) is set by the first call.
  void stop();
  /// Blocks until stop() was called and the drain finished (or its deadline passed), then
  /// joins the I/O threads. Idempotent: later calls (the destructor's included) return once
  /// the first one has finished, without waiting for the drain again.
  void wait();

  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const { return bound_port_; }
  /// An I/O executor for background coroutines (round-robin across threads).
  [[nodiscard]] boost::asio::any_io_executor next_executor();
  [[nodiscard]] bool draining() const { return draining_.load(); }

private:
  struct connection_state;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket,
                                     std::shared_ptr<connection_state> state);
  /// Answers a request by its route (`found`, when already looked up for its headers).
  boost::asio::awaitable<response> dispatch(const request& message, const std::string& address,
                                            bool secure, std::optional<router::match> found);
  /// Runs a streaming route's handler (streaming.cpp); false when the connection must close.
  boost::asio::awaitable<bool>
  serve_streaming(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                  beast_http::request_parser<beast_http::empty_body>& head, router::match found,
                  const std::string& address, bool secure);
  /// The client's address and whether it came over https (from a trusted proxy's headers).
  [[nodiscard]] std::pair<std::string, bool> client_of(const beast_http::fields& headers,
                                                       const std::string& peer) const;
  bool admit(const std::string& address);
  void release(const std::string& address, std::uint64_t connection_id);

  [[nodiscard]] std::size_t body_limit_for(std::string_view target) const;
  [[nodiscard]] const upgrade_handler* upgrade_for(std::string_view target) const;

  server_options options_;
  std::vector<std::pair<std::string, upgrade_handler>> upgrades_;
  std::vector<std::function<void()>> drain_listeners_;
  std::size_t largest_body_limit_ = 0; // set by start()
  const router& routes_;
  metrics& metrics_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_; // used on contexts_[0] only
  std::atomic<std::size_t> next_context_{0};
  std::uint16_t bound_port_ = 0;
  std::atomic<bool> draining_{false};

  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_requested_ = false;                                     // guarded by mutex_
  std::chrono::steady_clock::time_point drain_deadline_;            // guarded by mutex_
  bool wait_started_ = false;                                       // guarded by mutex_
  bool wait_finished_ = false;                                      // guarded by mutex_
  std::unordered_map<std::string, std::size_t> per_address_;        // guarded by mutex_
  std::unordered_map<std::uint64_t, std::weak_ptr<connection_state>> connections_; // guarded by mutex_
  std::uint64_t next_connection_id_ = 1;                            // guarded by mutex_
};

} // namespace parley::http
