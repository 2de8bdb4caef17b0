#pragma once
// Settings of the Engine.IO layer. Defaults are the reference server's.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace parley::engineio {

struct options {
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds upgrade_timeout{10'000};
  /// How long a server-initiated WebSocket close may take (our close frame written, the
  /// client's answer read) before the connection is dropped: a client that stopped reading
  /// must not hold a shutdown up.
  std::chrono::milliseconds close_timeout{5'000};
  /// The largest payload accepted in one POST or one WebSocket message (maxHttpBufferSize).
  std::size_t max_payload = 1'000'000;
  /// Outbound bound per session: more queued than this and the session is closed.
  std::size_t max_queued_packets = 32768; // a group sender gets a receipt per member
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  /// Origins allowed for CORS and WebSocket handshakes, besides the request's own Host.
  std::vector<std::string> allowed_origins;
  /// Any origin is allowed (the compliance mode; never in production).
  bool allow_any_origin = false;
  /// Put in front of every session id this engine issues: `<node-id>.` on a node of a
  /// cluster, so that the proxy in front routes a session's requests back to the node that
  /// holds it (deploy/nginx/parley.conf). The random part after it stays as unguessable.
  std::string sid_prefix;
};

} // namespace parley::engineio
