#include "socketio/server.hpp"

#include "engineio/engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <set>
#include <vector>

namespace parley::socketio {

namespace asio = boost::asio;

/// The Socket.IO state of one Engine.IO session: its decoder and its sockets by namespace.
/// Lives on the session's executor, attached to the session.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(server& owner, const std::shared_ptr<engineio::session>& session)
      : owner_(owner), session_(session) {}

  void start(const asio::any_io_executor& executor) {
    connect_timer_ = std::make_unique<asio::steady_timer>(executor);
    connect_timer_->expires_after(owner_.options().connect_timeout);
    connect_timer_->async_wait([weak = weak_from_this()](boost::system::error_code error) {
      auto self = weak.lock();
      if (!error && self && self->sockets_.empty()) {
        self->close(engineio::close_reason::protocol_error);
      }
    });
  }

  void on_engine_message(engineio::packet&& incoming) {
    auto decoded = incoming.binary ? decoder_.on_binary(incoming.data) : decoder_.on_text(incoming.data);
    if (!decoded) {
      spdlog::debug("socketio.bad_packet error={}", describe(decoded.error()));
      close(engineio::close_reason::parse_error);
      return;
    }
    if (*decoded) {
      handle(std::move(**decoded));
    }
  }

  void send(const packet& outgoing) {
    auto live = session_.lock();
    if (!live) {
      return;
    }
    auto wire = encode(outgoing);
    live->send(engineio::packet{engineio::packet_type::message, std::move(wire.text), false});
    for (auto& attachment : wire.attachments) {
      live->send(engineio::packet{engineio::packet_type::message, std::move(attachment), true});
    }
  }

  void close(engineio::close_reason reason) {
    if (auto live = session_.lock()) {
      live->close(reason);
    }
  }

  void closed(engineio::close_reason reason) {
    connect_timer_.reset(); // destroying it cancels the wait
    auto sockets = std::move(sockets_);
    sockets_.clear();
    const std::string why = reason == engineio::close_reason::ping_timeout ? "ping timeout"
                            : reason == engineio::close_reason::server_close ? "server shutting down"
                                                                              : "transport close";
    for (auto& [nsp, client] : sockets) {
      client->drop(why);
      if (auto* handler = owner_.find_namespace(nsp)) {
        handler->on_disconnect(client, why);
      }
    }
  }

  /// The server ended `nsp`'s socket (after sending DISCONNECT).
  void remove(const std::string& nsp, std::string_view reason) {
    const auto found = sockets_.find(nsp);
    if (found == sockets_.end()) {
      return;
    }
    auto client = found->second;
    sockets_.erase(found);
    client->drop(reason);
    if (auto* handler = owner_.find_namespace(nsp)) {
      handler->on_disconnect(client, reason);
    }
  }

  [[nodiscard]] const engineio::handshake* opened_with() const {
    auto live = session_.lock();
    return live ? &live->opened_with() : nullptr;
  }

private:
  void handle(packet&& incoming) {
    switch (incoming.type) {
    case packet_type::connect:
      on_connect(std::move(incoming));
      return;
    case packet_type::disconnect: {
      const auto found = sockets_.find(incoming.nsp);
      if (found == sockets_.end()) {
        return; // leaving a namespace one is not in: nothing to do
      }
      auto client = found->second;
      sockets_.erase(found);
      client->drop("client namespace disconnect");
      if (auto* handler = owner_.find_namespace(client->nsp())) {
        handler->on_disconnect(client, "client namespace disconnect");
      }
      return;
    }
    case packet_type::event:
    case packet_type::binary_event:
      on_event(std::move(incoming));
      return;
    case packet_type::ack:
    case packet_type::binary_ack: {
      const auto found = sockets_.find(incoming.nsp);
      if (found == sockets_.end() || !incoming.id) {
        close(engineio::close_reason::protocol_error);
        return;
      }
      message reply{incoming.data.is_array() ? std::move(incoming.data.as_array()) : boost::json::array{},
                    std::move(incoming.attachments)};
      found->second->on_ack(*incoming.id, std::move(reply));
      return;
    }
    case packet_type::connect_error:
      close(engineio::close_reason::protocol_error);
      return;
    }
  }

  void on_connect(packet&& incoming) {
    auto* handler = owner_.find_namespace(incoming.nsp);
    if (handler == nullptr) {
      send(packet{packet_type::connect_error, incoming.nsp, std::nullopt,
                  boost::json::object{{"message", "Invalid namespace"}}, {}});
      return;
    }
    if (sockets_.contains(incoming.nsp) || connecting_.contains(incoming.nsp)) {
      close(engineio::close_reason::protocol_error);
      return;
    }
    auto live = session_.lock();
    if (!live) {
      return;
    }
    connecting_.insert(incoming.nsp);
    auto client = std::make_shared<socket>(engineio::random_id(), incoming.nsp, weak_from_this(),
                                           live->executor());
    boost::json::object auth =
        incoming.data.is_object() ? std::move(incoming.data.as_object()) : boost::json::object{};
    auto decision = handler->authorize(client, std::move(auth));
    auto self = shared_from_this();
    auto finish = [self, client, handler](std::exception_ptr failure,
                                          std::optional<connect_refusal> refusal) {
      self->connecting_.erase(client->nsp());
      auto live = self->session_.lock();
      if (!live || !live->is_open()) {
        return;
      }
      if (failure) {
        spdlog::warn("socketio.authorize_failed nsp={}", client->nsp());
        refusal = connect_refusal{"internal error", nullptr};
      }
      if (refusal) {
        boost::json::object error{{"message", refusal->message}};
        if (!refusal->data.is_null()) {
          error["data"] = refusal->data;
        }
        self->send(packet{packet_type::connect_error, client->nsp(), std::nullopt, std::move(error), {}});
        return;
      }
      self->sockets_.emplace(client->nsp(), client);
      self->connect_timer_.reset(); // connected: not needed any more (nor kept, ~120 bytes)
      self->send(packet{packet_type::connect, client->nsp(), std::nullopt,
                        boost::json::object{{"sid", client->id()}}, {}});
      handler->on_connect(client);
    };
    asio::co_spawn(live->executor(), std::move(decision), std::move(finish));
  }

  void on_event(packet&& incoming) {
    const auto found = sockets_.find(incoming.nsp);
    if (found == sockets_.end()) {
      close(engineio::close_reason::protocol_error); // an event before CONNECT
      return;
    }
    auto client = found->second;
    auto& array = incoming.data.as_array(); // the decoder guarantees a non-empty array
    std::string name = array.front().is_string() ? std::string(array.front().as_string())
                                                 : boost::json::serialize(array.front());
    array.erase(array.begin());
    message args{std::move(array), std::move(incoming.attachments),
                 incoming.replaced_lone_surrogates};
    ack_function ack;
    if (incoming.id) {
      ack = [weak = weak_from_this(), nsp = client->nsp(), id = *incoming.id,
             done = std::make_shared<bool>(false)](message reply) {
        auto self = weak.lock();
        if (!self || *done) {
          return;
        }
        *done = true;
        packet answer{packet_type::ack, nsp, id, std::move(reply.args), std::move(reply.attachments)};
        answer.serialized_data = std::move(reply.serialized_args);
        self->send(std::move(answer));
      };
    }
    if (auto* handler = owner_.find_namespace(client->nsp())) {
      handler->on_event(client, std::move(name), std::move(args), std::move(ack));
    }
  }

  server& owner_;
  std::weak_ptr<engineio::session> session_;
  decoder decoder_;
  std::map<std::string, std::shared_ptr<socket>, std::less<>> sockets_;
  std::set<std::string, std::less<>> connecting_;
  std::unique_ptr<asio::steady_timer> connect_timer_; // until the first CONNECT succeeds
};

socket::socket(std::string id, std::string nsp, std::weak_ptr<connection> owner,
               asio::any_io_executor executor)
    : id_(std::move(id)), nsp_(std::move(nsp)), owner_(std::move(owner)),
      executor_(std::move(executor)) {}

const engineio::handshake* socket::opened_with() const {
  auto owner = owner_.lock();
  return owner ? owner->opened_with() : nullptr;
}

namespace {

boost::json::array with_name(std::string_view event, boost::json::array args) {
  boost::json::array data;
  data.reserve(args.size() + 1);
  data.emplace_back(boost::json::string(event));
  for (auto& value : args) {
    data.push_back(std::move(value));
  }
  return data;
}

} // namespace

serialized_event serialize_event(std::string_view event, const message& args) {
  assert(args.attachments.empty());
  if (args.serialized_args) {
    // ["event", …the arguments' array without its opening bracket
    const auto& written = *args.serialized_args;
    auto text = std::make_shared<std::string>();
    text->reserve(event.size() + written.size() + 8);
    text->append("[").append(boost::json::serialize(boost::json::string_view(event)));
    if (written.size() > 2) {
      text->append(",");
    }
    text->append(std::string_view(written).substr(1));
    return text;
  }
  return std::make_shared<const std::string>(boost::json::serialize(with_name(event, args.args)));
}

void socket::emit(const serialized_event& event) {
  packet outgoing{packet_type::event, nsp_, std::nullopt, nullptr, {}};
  outgoing.serialized_data = event;
  send_event(std::move(outgoing));
}

void socket::emit_with_ack(const serialized_event& event, std::chrono::milliseconds timeout,
                           ack_callback on_reply) {
  packet outgoing{packet_type::event, nsp_, std::nullopt, nullptr, {}};
  outgoing.serialized_data = event;
  send_event_with_ack(std::move(outgoing), timeout, std::move(on_reply));
}

void socket::emit(std::string_view event, message args) {
  send_event(packet{packet_type::event, nsp_, std::nullopt, with_name(event, std::move(args.args)),
                    std::move(args.attachments)});
}

void socket::emit_with_ack(std::string_view event, message args, std::chrono::milliseconds timeout,
                           ack_callback on_reply) {
  send_event_with_ack(packet{packet_type::event, nsp_, std::nullopt,
                             with_name(event, std::move(args.args)), std::move(args.attachments)},
                      timeout, std::move(on_reply));
}

void socket::send_event(packet outgoing) {
  auto owner = owner_.lock();
  if (connected_ && owner) {
    owner->send(outgoing);
  }
}

void socket::send_event_with_ack(packet outgoing, std::chrono::milliseconds timeout,
                                 ack_callback on_reply) {
  auto owner = owner_.lock();
  if (!connected_ || !owner) {
    if (on_reply) {
      on_reply(std::nullopt);
    }
    return;
  }
  outgoing.id = expect_ack(timeout, std::move(on_reply));
  owner->send(outgoing);
}

std::uint64_t socket::expect_ack(std::chrono::milliseconds timeout, ack_callback on_reply) {
  const auto id = next_ack_id_++;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pending_acks_.emplace(id, pending_ack{std::move(on_reply), deadline});
  arm_ack_timer(deadline);
  return id;
}

void socket::arm_ack_timer(std::chrono::steady_clock::time_point deadline) {
  if (ack_timer_deadline_ && *ack_timer_deadline_ <= deadline) {
    return; // it fires first, and re-arms for this one
  }
  if (!ack_timer_) {
    ack_timer_ = std::make_unique<asio::steady_timer>(executor_);
  }
  ack_timer_deadline_ = deadline;
  ack_timer_->expires_at(deadline); // cancels an armed wait for a later deadline
  ack_timer_->async_wait([weak = weak_from_this()](boost::system::error_code error) {
    auto self = weak.lock();
    if (error || !self) {
      return; // re-armed earlier, or the socket is gone
    }
    self->ack_timer_deadline_.reset();
    self->expire_acks();
  });
}

void socket::expire_acks() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<ack_callback> expired;
  std::optional<std::chrono::steady_clock::time_point> next;
  for (auto entry = pending_acks_.begin(); entry != pending_acks_.end();) {
    if (entry->second.deadline <= now) {
      expired.push_back(std::move(entry->second.on_reply));
      entry = pending_acks_.erase(entry);
    } else {
      next = next ? std::min(*next, entry->second.deadline) : entry->second.deadline;
      ++entry;
    }
  }
  if (next) {
    arm_ack_timer(*next);
  }
  for (auto& callback : expired) {
    if (callback) {
      callback(std::nullopt);
    }
  }
}

void socket::on_ack(std::uint64_t id, message reply) {
  const auto found = pending_acks_.find(id);
  if (found == pending_acks_.end()) {
    return; // unknown or late: ignored
  }
  auto callback = std::move(found->second.on_reply);
  pending_acks_.erase(found);
  if (callback) {
    callback(std::move(reply));
  }
}

void socket::drop(std::string_view reason) {
  (void)reason;
  connected_ = false;
  auto pending = std::move(pending_acks_);
  pending_acks_.clear();
  ack_timer_.reset(); // destroying it cancels the wait
  ack_timer_deadline_.reset();
  for (auto& [id, waiting] : pending) {
    if (waiting.on_reply) {
      waiting.on_reply(std::nullopt);
    }
  }
}

void socket::disconnect() {
  auto owner = owner_.lock();
  if (!connected_ || !owner) {
    return;
  }
  owner->send(packet{packet_type::disconnect, nsp_, std::nullopt, nullptr, {}});
  auto self = shared_from_this();
  owner->remove(nsp_, "server namespace disconnect");
}

server::server(server_options options) : options_(options) {}

void server::add_namespace(std::string nsp, namespace_handler& handler) {
  namespaces_[std::move(nsp)] = &handler;
}

namespace_handler* server::find_namespace(std::string_view nsp) const {
  const auto found = namespaces_.find(nsp);
  return found == namespaces_.end() ? nullptr : found->second;
}

void server::on_open(const std::shared_ptr<engineio::session>& opened) {
  auto state = std::make_shared<connection>(*this, opened);
  opened->attach(state);
  state->start(opened->executor());
}

void server::on_message(const std::shared_ptr<engineio::session>& from, engineio::packet&& message) {
  if (auto state = std::static_pointer_cast<connection>(from->attachment())) {
    state->on_engine_message(std::move(message));
  }
}

void server::on_close(const std::shared_ptr<engineio::session>& closed, engineio::close_reason reason) {
  if (auto state = std::static_pointer_cast<connection>(closed->attachment())) {
    closed->attach(nullptr); // breaks the session <-> connection cycle
    state->closed(reason);
  }
}

} // namespace parley::socketio
