#pragma once
// The compliance mode (`parley serve --compliance`): endpoints that behave as the upstream
// protocol suites (socketio/engine.io-protocol, socketio/socket.io-protocol) expect, so that
// anyone can run them against Parley. A testing aid, off by default, never for production:
// it allows any origin.

#include "engineio/session.hpp"

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

} // namespace parley::compliance
