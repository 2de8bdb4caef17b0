#pragma once
// Web Push as the server runs it: the push service wired to chat (new messages), to presence
// (who has no socket) and to the outbound thread, and its counters in /metrics.

#include "chat/chat_service.hpp"
#include "config/config.hpp"
#include "http/metrics.hpp"
#include "push/push_service.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace parley::app {

/// The VAPID `sub` when --push-subject is not given: the server's own origin as configured
/// (its first --allowed-origin), else "https://" + the listen address's host.
[[nodiscard]] std::string default_push_subject(const config::config& settings);

class push_parts {
public:
  /// Blocks on the store (the VAPID key): call at start-up. `chat` must outlive this.
  push_parts(const config::config& settings, store::database& database, const parley::clock& clock,
             chat::chat_service& chat, boost::asio::any_io_executor outbound,
             http::metrics& counters);
  [[nodiscard]] push::push_service& service() { return *service_; }

private:
  std::unique_ptr<push::push_service> service_;
};

} // namespace parley::app
