// The upgrade probe of a polling session (session.hpp): "2probe" → "3probe", then "5"; and
// how a polling GET that arrives meanwhile waits for the probe to take in what the client
// sent on it before deciding its answer.

#include "engineio/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace parley::engineio {

namespace asio = boost::asio;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
} // namespace

void session::probe_step() {
  ++probe_steps_;
  cancel(upgrade_signal_);
}

asio::awaitable<std::optional<std::string>> session::probe_read(websocket& socket) {
  // A step before the read starts and one when it ends: a GET settling on the probe looks
  // again, only after this read's completion if the frame is here already (see settle_probe).
  probe_reading_ = true;
  probe_step();
  auto [error, message, text] = co_await socket.async_read(use_tuple);
  probe_reading_ = false;
  probe_step();
  if (error || !text) {
    co_return std::nullopt;
  }
  co_return std::move(message);
}

asio::awaitable<void> session::settle_probe() {
  auto self = shared_from_this();
  for (;;) {
    // Yield behind the completions already queued on this executor (a frame just handed to
    // the probe's read). If the probe took a step meanwhile, its newest read may have queued
    // a completion behind this yield: yield again, until a yield sees no step.
    const auto seen = probe_steps_;
    co_await asio::post(executor_, asio::use_awaitable);
    if (!probing_ || state_ != state::open) {
      co_return;
    }
    if (probe_steps_ != seen) {
      continue;
    }
    if (probe_reading_ && (!probe_socket_ || unread_bytes(*probe_socket_) == 0)) {
      co_return; // the probe has taken in everything the client sent on it so far
    }
    // The probe is handshaking, writing, or has input to read: wait for its next step. The
    // probe itself is bounded (the handshake timeout, then upgrade_timeout per read).
    auto& signal = made(upgrade_signal_);
    signal.expires_at(asio::steady_timer::time_point::max());
    co_await signal.async_wait(use_tuple);
  }
}

asio::awaitable<bool> session::probe(websocket& socket) {
  const auto first_text = co_await probe_read(socket);
  if (!first_text) {
    co_return false;
  }
  const auto first = decode_text(*first_text);
  if (!first || first->type != packet_type::ping || first->data != "probe") {
    co_return false;
  }
  const std::string answer = encode_text(packet{packet_type::pong, "probe", false});
  auto [error, bytes] = co_await socket.async_write(answer, true, use_tuple);
  if (error || state_ != state::open) {
    co_return false;
  }
  upgrading_ = true;
  wake(); // a waiting GET answers noop, so the client can finish pausing

  // The client now sends "5" (upgrade) within upgrade_timeout; nothing may be written before.
  const auto second_text = co_await probe_read(socket);
  upgrading_ = false;
  if (!second_text) {
    co_return false;
  }
  const auto second = decode_text(*second_text);
  if (!second || second->type != packet_type::upgrade || state_ != state::open) {
    co_return false;
  }
  co_return true;
}

} // namespace parley::engineio
