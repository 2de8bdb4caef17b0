#pragma once
// The Engine.IO v4 server endpoint: the handshake, HTTP long-polling (GET/POST/OPTIONS on
// the endpoint's path), WebSocket connections and upgrades, the protocol's HTTP errors
// ({"code": N, "message": "…"}), CORS for allowed origins (on errors too), and the table of
// live sessions. Sessions themselves live on their own executors (see session.hpp).
//
// Thread-safety: handle_http and handle_upgrade may run on any I/O thread concurrently; the
// session table is guarded by a mutex; everything a session does runs on its executor.

#include "engineio/options.hpp"
#include "engineio/session.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

#include <mutex>
#include <unordered_map>

namespace parley::engineio {

class engine {
public:
  /// `handler` must outlive the engine.
  engine(options settings, session_handler& handler);

  /// For the router: GET (handshake and long-poll), POST (client packets), OPTIONS (CORS
  /// preflight) on the endpoint's path.
  boost::asio::awaitable<http::response> handle_http(http::request_context& context);

  /// For the HTTP server's upgrade hook: a WebSocket on the endpoint's path.
  boost::asio::awaitable<void> handle_upgrade(std::shared_ptr<http::upgrade_request> upgrade);

  /// Closes every session (server_close), e.g. when the server drains; from then on new
  /// handshakes are refused with 503 (a proxy sends them to another node).
  void close_all();

  [[nodiscard]] std::size_t session_count() const;
  [[nodiscard]] const options& settings() const { return options_; }

private:
  std::shared_ptr<session> find(const std::string& id) const;
  /// Null once close_all() has run: the server is draining.
  std::shared_ptr<session> open(boost::asio::any_io_executor executor, handshake opened_with,
                                session::transport first_transport);
  void forget(const std::string& id);
  [[nodiscard]] bool origin_allowed(const http::request& message) const;

  options options_;
  session_handler& handler_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<session>> sessions_; // guarded by mutex_
  bool closing_ = false;                                                // guarded by mutex_
};

/// A fresh random id: 20 URL-safe characters from 15 random bytes (Engine.IO sids and
/// Socket.IO socket ids, which are distinct draws).
[[nodiscard]] std::string random_id();

} // namespace parley::engineio
