#include "engineio/session.hpp"

#include "engineio/exact_allocator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

namespace parley::engineio {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// At most this many packets per polling answer: python-engineio 4.3 (Debian 12) drops a
// connection whose GET answer holds more (its Payload.max_decode_packets); the rest waits for
// the next GET.
constexpr std::size_t k_max_packets_per_poll = 16;

std::string_view describe(close_reason reason) {
  switch (reason) {
  case close_reason::client_close:
    return "client close";
  case close_reason::transport_error:
    return "transport error";
  case close_reason::ping_timeout:
    return "ping timeout";
  case close_reason::parse_error:
    return "parse error";
  case close_reason::protocol_error:
    return "protocol error";
  case close_reason::overflow:
    return "outbound queue overflow";
  case close_reason::server_close:
    return "server close";
  }
  return "unknown";
}

session::session(std::string id, asio::any_io_executor executor, const options& settings,
                 session_handler& handler, handshake opened_with, transport first_transport,
                 std::function<void(const std::string&)> on_finished)
    : id_(std::move(id)), executor_(std::move(executor)), options_(settings), handler_(handler),
      handshake_(std::move(opened_with)), on_finished_(std::move(on_finished)),
      transport_(first_transport), heartbeat_(executor_) {}

asio::steady_timer& session::made(std::unique_ptr<asio::steady_timer>& timer) {
  if (!timer) {
    timer = std::make_unique<asio::steady_timer>(executor_);
  }
  return *timer;
}

void session::cancel(const std::unique_ptr<asio::steady_timer>& timer) {
  if (timer) {
    timer->cancel();
  }
}

std::string session::start() {
  boost::json::array upgrades;
  if (transport_ == transport::polling) {
    upgrades.emplace_back("websocket");
  }
  const boost::json::object open{{"sid", id_},
                                 {"upgrades", std::move(upgrades)},
                                 {"pingInterval", options_.ping_interval.count()},
                                 {"pingTimeout", options_.ping_timeout.count()},
                                 {"maxPayload", options_.max_payload}};
  arm_heartbeat(options_.ping_interval);
  auto text = boost::json::serialize(open);
  if (transport_ == transport::websocket) {
    queue(packet{packet_type::open, text, false}); // the first frame
  }
  return text;
}

void session::queue(packet message) { queue_before(queue_.end(), std::move(message)); }

void session::queue_before(std::list<packet>::iterator position, packet message) {
  queued_bytes_ += message.data.size() + 1;
  queue_.insert(position, std::move(message));
  wake();
}

std::size_t session::unread_bytes(websocket& socket) {
  return socket.unread_bytes();
}

void session::wake() {
  cancel(signal_);
  // A WebSocket writer runs only while there is something to write (or a close to send).
  if (websocket_ && !writing_ && state_ != state::closed &&
      (!queue_.empty() || state_ == state::closing)) {
    writing_ = true;
    // Posted: what the caller's handler queues after this goes out in the same send.
    asio::post(executor_, [self = shared_from_this(), socket = websocket_] {
      self->write_queued(socket, false);
    });
  }
}

void session::send(packet message) {
  if (state_ != state::open) {
    return;
  }
  if (queue_.size() >= options_.max_queued_packets ||
      queued_bytes_ + message.data.size() > options_.max_queued_bytes) {
    spdlog::info("engineio.overflow sid={} queued={} bytes={}", id_, queue_.size(), queued_bytes_);
    finish(close_reason::overflow);
    return;
  }
  queue(std::move(message));
}

void session::close(close_reason reason) {
  if (state_ != state::open) {
    return;
  }
  if (transport_ == transport::polling && !upgrading_) {
    // The close packet (and whatever is queued before it) goes out with the next GET; a
    // client that never comes back is dropped by the heartbeat's timeout.
    reason_ = reason;
    state_ = state::closing;
    queue(packet{packet_type::close, {}, false});
    awaiting_pong_ = true; // no more pings: the next heartbeat deadline finishes the session
    arm_heartbeat(options_.ping_interval + options_.ping_timeout);
    return;
  }
  reason_ = reason;
  state_ = state::closing;
  // The WebSocket writer flushes the queue, then runs the close handshake; the heartbeat
  // ends the session at this deadline if that has not finished by then (a client that
  // stopped reading, or never answers the close frame).
  awaiting_pong_ = true;
  arm_heartbeat(options_.close_timeout);
  wake();
}

void session::finish(close_reason reason) {
  if (state_ == state::closed) {
    return;
  }
  state_ = state::closed;
  reason_ = reason;
  cancel(upgrade_signal_);
  queue_.clear();
  queued_bytes_ = 0;
  heartbeat_.cancel();
  wake();
  if (websocket_) {
    websocket_->abort();
  }
  if (probe_socket_) { // the probe's pending read ends now, not at the upgrade timeout
    probe_socket_->abort();
  }
  spdlog::debug("engineio.closed sid={} reason={}", id_, describe(reason));
  auto self = shared_from_this();
  handler_.on_close(self, reason);
  if (reason == close_reason::client_close && transport_ == transport::polling && !get_pending_) {
    // The client's close packet came with no GET waiting, yet the client keeps one open: it
    // is on its way on another connection, which this server happened to read second. That
    // GET gets the noop it would have had, not "Session ID unknown"; the id is forgotten
    // with it, or after ping_timeout.
    owes_noop_ = true;
    heartbeat_.expires_after(options_.ping_timeout);
    heartbeat_.async_wait([self](const boost::system::error_code& error) {
      if (!error) {
        self->owes_noop_ = false;
        self->forget();
      }
    });
    return;
  }
  forget();
}

void session::forget() {
  if (auto done = std::exchange(on_finished_, nullptr)) {
    done(id_);
  }
}

void session::arm_heartbeat(std::chrono::milliseconds after) {
  arm_heartbeat_at(asio::steady_timer::clock_type::now() + after);
}

void session::arm_heartbeat_at(asio::steady_timer::time_point when) {
  // Moving the expiry cancels the pending wait; its handler sees operation_aborted.
  heartbeat_.expires_at(when);
  // Allocated to its size (exact_allocator): an idle session holds this wait for its whole life.
  heartbeat_.async_wait(
      asio::bind_allocator(k_exact, [self = shared_from_this()](const boost::system::error_code& error) {
        self->on_heartbeat(error);
      }));
}

void session::send_ping() {
  awaiting_pong_ = true;
  heard_since_ping_ = false;
  ping_sent_ = asio::steady_timer::clock_type::now();
  // Ahead of whatever is queued (only a fresh WebSocket session's open packet stays first):
  // the heartbeat measures the client, not this queue. Behind a long queue the ping would
  // reach the client later than its own watchdog allows (pingInterval + pingTimeout after
  // the previous ping); Engine.IO packets carry no order between control and data.
  auto position = queue_.begin();
  if (position != queue_.end() && position->type == packet_type::open) {
    ++position;
  }
  queue_before(position, packet{packet_type::ping, {}, false});
  arm_heartbeat(options_.ping_timeout);
}

bool session::input_waiting() const { return websocket_ && unread_bytes(*websocket_) > 0; }

void session::on_heartbeat(const boost::system::error_code& error) {
  if (error == asio::error::operation_aborted || state_ == state::closed) {
    return; // re-armed (a newer wait is pending) or finished
  }
  const auto now = asio::steady_timer::clock_type::now();
  if (heartbeat_.expiry() > now) {
    return; // completed just before being re-armed: the newer wait decides
  }
  if (state_ == state::closing) {
    finish(reason_); // the closing deadline passed
    return;
  }
  if (!awaiting_pong_) {
    send_ping();
    return;
  }
  // The ping is unanswered. A client that sent anything since, or whose frames wait unread
  // in this server's socket, is alive and its pong is behind them: this server's own
  // backlog (a burst it has not read yet, a busy machine) is not the client's silence.
  if (!heard_since_ping_ && !input_waiting()) {
    finish(close_reason::ping_timeout);
    return;
  }
  heard_since_ping_ = false; // from now on, what counts is what comes next
  const auto next_ping = ping_sent_ + options_.ping_interval;
  if (next_ping > now) {
    arm_heartbeat_at(next_ping);
    return;
  }
  // Keep pinging on time, so that the client's watchdog is satisfied while its pong is late.
  send_ping();
}

void session::on_packet(packet&& message) {
  heard_since_ping_ = true;
  switch (message.type) {
  case packet_type::pong:
    if (awaiting_pong_ && state_ == state::open) {
      awaiting_pong_ = false;
      // The next ping one interval after this one (not after its pong, which may have been
      // read late): the client expects a ping every pingInterval.
      arm_heartbeat_at(
          std::max(asio::steady_timer::clock_type::now(), ping_sent_ + options_.ping_interval));
    }
    return;
  case packet_type::message:
    if (state_ == state::open) {
      handler_.on_message(shared_from_this(), std::move(message));
    }
    return;
  case packet_type::close:
    finish(close_reason::client_close);
    return;
  case packet_type::ping:    // v4: only the server pings
  case packet_type::open:    // server to client only
  case packet_type::upgrade: // only on a probing WebSocket
  case packet_type::noop:
    spdlog::debug("engineio.unexpected_packet sid={} type={}", id_,
                  static_cast<char>(message.type));
    finish(close_reason::protocol_error);
    return;
  }
}

std::string session::drain_payload() {
  const auto count = std::min(queue_.size(), k_max_packets_per_poll);
  const auto end = std::next(queue_.begin(), static_cast<std::ptrdiff_t>(count));
  std::vector<packet> batch(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
  queue_.erase(queue_.begin(), end);
  for (const auto& sent : batch) {
    queued_bytes_ -= std::min(queued_bytes_, sent.data.size() + 1);
  }
  return encode_payload(batch);
}

asio::awaitable<poll_answer> session::poll() {
  auto self = shared_from_this();
  if (state_ != state::closed && heartbeat_.expiry() <= asio::steady_timer::clock_type::now()) {
    // A GET read after a heartbeat deadline is answered as after it (a ping due, or the
    // session dropped), whichever of the timer and the request this server handles first.
    on_heartbeat({});
  }
  if (state_ == state::closed) {
    if (std::exchange(owes_noop_, false)) {
      heartbeat_.cancel();
      forget();
      co_return poll_answer{poll_answer::kind::ok,
                            encode_text(packet{packet_type::noop, {}, false})};
    }
    co_return poll_answer{poll_answer::kind::unknown_session, {}};
  }
  if (transport_ != transport::polling) {
    co_return poll_answer{poll_answer::kind::bad_request, {}};
  }
  if (get_pending_) {
    // Two GETs at once: the protocol's answer is to end the session; the waiting GET gets the
    // close packet, this one an error.
    finish(close_reason::protocol_error);
    co_return poll_answer{poll_answer::kind::bad_request, {}};
  }
  if (probing_) {
    // A WebSocket probe is under way. It first takes in everything the client has sent on it
    // so far, so that a GET the client sent after "5" finds the session upgraded (400), as
    // on the reference server, whichever of the two connections this server reads first.
    get_pending_ = true;
    co_await settle_probe();
    get_pending_ = false;
    if (state_ == state::open && transport_ != transport::polling) {
      co_return poll_answer{poll_answer::kind::bad_request, {}};
    }
    // Still probing, or upgrading ("3probe" answered, no "5" yet): the wait below ends with a
    // noop at once, or when the probe answers, so that the client can finish pausing.
  }
  if (queue_.empty() && state_ == state::open) {
    get_pending_ = true;
    while (queue_.empty() && state_ == state::open && !upgrading_ &&
           transport_ == transport::polling) {
      auto& signal = made(signal_);
      signal.expires_at(asio::steady_timer::time_point::max());
      co_await signal.async_wait(use_tuple);
    }
    get_pending_ = false;
  }
  if (state_ == state::closed) {
    // Closed while this GET waited: by the client's own close packet (the GET just ends), or
    // by the server (the GET carries the close packet).
    const auto last =
        reason_ == close_reason::client_close ? packet_type::noop : packet_type::close;
    co_return poll_answer{poll_answer::kind::ok, encode_text(packet{last, {}, false})};
  }
  if (upgrading_ || transport_ != transport::polling) {
    co_return poll_answer{poll_answer::kind::ok, encode_text(packet{packet_type::noop, {}, false})};
  }
  auto body = drain_payload();
  if (state_ == state::closing && queue_.empty()) {
    finish(reason_); // the close packet went out with this answer
  }
  co_return poll_answer{poll_answer::kind::ok, std::move(body)};
}

asio::awaitable<poll_answer> session::receive(std::string body) {
  auto self = shared_from_this();
  if (state_ == state::closed) {
    co_return poll_answer{poll_answer::kind::unknown_session, {}};
  }
  if (transport_ != transport::polling) {
    co_return poll_answer{poll_answer::kind::bad_request, {}};
  }
  auto packets = decode_payload(body);
  if (!packets) {
    spdlog::debug("engineio.bad_payload sid={} error={}", id_, describe(packets.error()));
    finish(close_reason::parse_error);
    co_return poll_answer{poll_answer::kind::bad_request, {}};
  }
  for (auto& message : *packets) {
    if (state_ == state::closed) {
      break;
    }
    on_packet(std::move(message));
  }
  co_return poll_answer{poll_answer::kind::ok, "ok"};
}

asio::awaitable<void> session::run_websocket(std::shared_ptr<websocket> socket,
                                             std::unique_ptr<upgrade_message> request) {
  auto self = shared_from_this();
  // A WebSocket for a polling session is an upgrade probe: one at a time, from its handshake
  // on (a second one, or one after the upgrade, is answered and closed).
  const bool probing = transport_ == transport::polling && !probing_ && state_ == state::open;
  const bool refused = transport_ == transport::polling ? !probing : websocket_ != nullptr;
  const auto end_probe = [this] {
    probing_ = false;
    probe_socket_ = nullptr;
    probe_step();
  };
  if (probing) {
    probing_ = true;
    probe_socket_ = socket.get();
    probe_step();
  }
  {
    auto [error] = co_await socket->async_accept(*request, "parley", use_tuple);
    request.reset(); // a long-lived connection does not keep its upgrade request
    if (error) {
      if (probing) {
        end_probe(); // a failed probe leaves the polling session as it was
      } else if (!refused) {
        close(close_reason::transport_error);
      }
      co_return;
    }
  }
  if (refused || state_ != state::open) {
    if (probing) {
      end_probe();
    }
    co_return; // the caller's socket just closes
  }
  if (probing) {
    // Each read of the probe ("2probe", then "5") must come within upgrade_timeout.
    socket->read_timeout(options_.upgrade_timeout);
    const bool upgraded = co_await probe(*socket);
    socket->read_timeout(std::chrono::milliseconds(0));
    if (upgraded && state_ == state::open) {
      transport_ = transport::websocket;
    }
    end_probe();
    wake();
    if (!upgraded || state_ != state::open) {
      socket->abort();
      co_return;
    }
    spdlog::debug("engineio.upgraded sid={}", id_);
  }
  websocket_ = socket;
  wake(); // starts the writer if something is queued (the open packet, for a fresh session)

  socket->read_message_max(options_.max_payload);
  // The reads go on from completion handlers, and this coroutine ends: an idle connection
  // keeps no coroutine frame, only its socket's wait for input.
  read_next();
}

void session::read_next() {
  websocket_->async_read(asio::bind_allocator(
      k_exact,
      [self = shared_from_this()](boost::system::error_code error, std::string data, bool text) {
        self->on_read(error, std::move(data), text);
      }));
}

void session::on_read(boost::system::error_code error, std::string data, bool text) {
  if (error) {
    if (state_ == state::closing) {
      finish(reason_); // our own close handshake ended the read
    } else if (state_ != state::closed) {
      finish(error == boost::beast::websocket::error::closed ? close_reason::client_close
                                                             : close_reason::transport_error);
    }
    return;
  }
  if (!text) {
    on_packet(decode_binary_frame(data));
  } else if (auto message = decode_text(data); message && !message->binary) {
    on_packet(std::move(*message));
  } else {
    finish(close_reason::parse_error);
    return;
  }
  if (state_ != state::closed) {
    read_next();
  }
}

void session::write_queued(const std::shared_ptr<websocket>& socket, bool held) {
  // Started by wake() when there is something to write; ends when the queue is empty, so an
  // idle connection keeps no writer. The frames of a run gather in the socket (held) and go
  // out together once the queue is empty: one send for a burst, not one per packet.
  auto& tcp = socket->next_layer();
  if (!held) {
    tcp.hold();
  }
  for (;;) {
    if (state_ == state::closed) {
      tcp.abandon_hold(); // nothing more is worth sending
      break;
    }
    if (queue_.empty()) {
      tcp.release();
      if (state_ == state::closing) { // everything is written: the close handshake
        socket->async_close(1000, options_.close_timeout,
                            [self = shared_from_this()](boost::system::error_code) {
                              self->finish(self->reason_);
                              self->writing_ = false;
                            });
        return;
      }
      break;
    }
    packet next = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= std::min(queued_bytes_, next.data.size() + 1);
    const char type = static_cast<char>(next.type);
    const auto outcome = next.binary ? socket->gather({}, next.data, false)
                                     : socket->gather(std::string_view(&type, 1), next.data, true);
    if (outcome == coalescing_socket::gather_outcome::failed) {
      tcp.abandon_hold();
      finish(close_reason::transport_error);
      break;
    }
    if (outcome == coalescing_socket::gather_outcome::full) {
      // The client reads slower than this server writes: go on once the send in progress is
      // over, still holding.
      tcp.async_room([self = shared_from_this(), socket](boost::system::error_code error) {
        if (error) {
          socket->next_layer().abandon_hold();
          self->finish(close_reason::transport_error);
          self->writing_ = false;
          return;
        }
        self->write_queued(socket, true);
      });
      return;
    }
  }
  writing_ = false;
}

} // namespace parley::engineio
