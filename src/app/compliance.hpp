#pragma once
// The compliance mode (`parley serve --compliance`): endpoints that behave as the upstream
// protocol suites (socketio/engine.io-protocol, socketio/socket.io-protocol) expect, so that
// anyone can run them against Parley. A testing aid, off by default, never for production:
// it allows any origin and authenticates no one.

#include "engineio/session.hpp"
#include "socketio/server.hpp"

namespace parley::compliance {

/// The Engine.IO suite's server: every message is sent back as it came (text as text,
/// binary as binary).
class echo_handler final : public engineio::session_handler {
public:
  void on_open(const std::shared_ptr<engineio::session>&) override {}
  void on_message(const std::shared_ptr<engineio::session>& from,
                  engineio::packet&& message) override {
    from->send(std::move(message));
  }
  void on_close(const std::shared_ptr<engineio::session>&, engineio::close_reason) override {}
};

/// The Socket.IO suite's namespaces "/" and "/custom": "auth" with the CONNECT auth object on
/// connect; "message" answered by "message-back" with the same arguments; "message-with-ack"
/// acknowledged with the same arguments. Besides the suite, for tests of server-to-client
/// acknowledgements: "ask" makes the server emit "question" with the same arguments and an
/// ack, and the client's answer comes back as "answer".
class suite_namespace final : public socketio::namespace_handler {
public:
  explicit suite_namespace(bool echo_events) : echo_events_(echo_events) {}

  boost::asio::awaitable<std::optional<socketio::connect_refusal>>
  authorize(std::shared_ptr<socketio::socket> client, boost::json::object auth) override {
    client->user_data = std::make_shared<boost::json::object>(std::move(auth));
    co_return std::nullopt;
  }

  void on_connect(const std::shared_ptr<socketio::socket>& client) override {
    const auto auth = std::static_pointer_cast<boost::json::object>(client->user_data);
    client->emit("auth", socketio::single_argument(*auth));
  }

  void on_event(const std::shared_ptr<socketio::socket>& client, std::string name,
                socketio::message args, socketio::ack_function ack) override {
    if (!echo_events_) {
      return;
    }
    if (name == "message") {
      client->emit("message-back", std::move(args));
    } else if (name == "message-with-ack" && ack) {
      ack(std::move(args));
    } else if (name == "ask") {
      std::weak_ptr<socketio::socket> weak = client;
      client->emit_with_ack("question", std::move(args), std::chrono::seconds(10),
                            [weak](std::optional<socketio::message> reply) {
                              if (auto asker = weak.lock(); asker && reply) {
                                asker->emit("answer", std::move(*reply));
                              }
                            });
    }
  }

  void on_disconnect(const std::shared_ptr<socketio::socket>&, std::string_view) override {}

private:
  bool echo_events_;
};

} // namespace parley::compliance
