#include "engineio/engine.hpp"


#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>

namespace parley::engineio {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;

namespace {

// The protocol's HTTP errors (engine.io's Server.errorMessages).
enum class protocol_error { transport_unknown = 0, unknown_sid = 1, bad_handshake_method = 2,
                            bad_request = 3, forbidden = 4, unsupported_protocol_version = 5 };

std::string_view message_of(protocol_error error) {
  switch (error) {
  case protocol_error::transport_unknown:
    return "Transport unknown";
  case protocol_error::unknown_sid:
    return "Session ID unknown";
  case protocol_error::bad_handshake_method:
    return "Bad handshake method";
  case protocol_error::bad_request:
    return "Bad request";
  case protocol_error::forbidden:
    return "Forbidden";
  case protocol_error::unsupported_protocol_version:
    return "Unsupported protocol version";
  }
  return "Bad request";
}

struct query_values {
  std::optional<std::string> eio;
  std::optional<std::string> transport;
  std::optional<std::string> sid;
};

query_values parse_query(std::string_view target) {
  const auto question = target.find('?');
  const auto query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  return {http::query_parameter(query, "EIO"), http::query_parameter(query, "transport"),
          http::query_parameter(query, "sid")};
}

} // namespace

std::string random_id() {
  std::array<unsigned char, 15> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, sodium_base64_ENCODED_LEN(15, sodium_base64_VARIANT_URLSAFE_NO_PADDING)> text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data()); // 20 characters
}

engine::engine(options settings, session_handler& handler)
    : options_(std::move(settings)), handler_(handler) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium could not be initialised");
  }
}

std::shared_ptr<session> engine::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto found = sessions_.find(id);
  return found == sessions_.end() ? nullptr : found->second;
}

std::shared_ptr<session> engine::open(asio::any_io_executor executor, handshake opened_with,
                                      session::transport first_transport) {
  auto created = std::make_shared<session>(options_.sid_prefix + random_id(), std::move(executor),
                                           options_, handler_, std::move(opened_with),
                                           first_transport,
                                           [this](const std::string& id) { forget(id); });
  std::lock_guard lock(mutex_);
  if (closing_) {
    return nullptr;
  }
  sessions_.emplace(created->id(), created);
  return created;
}

void engine::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

std::size_t engine::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void engine::close_all() {
  std::vector<std::shared_ptr<session>> open_sessions;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    for (const auto& [id, live] : sessions_) {
      open_sessions.push_back(live);
    }
  }
  for (auto& live : open_sessions) {
    asio::post(live->executor(), [live] { live->close(close_reason::server_close); });
  }
}

bool engine::origin_allowed(const http::request& message) const {
  // No Origin: not a browser. Otherwise the same rule as the REST API's.
  return options_.allow_any_origin || message.find(beast_http::field::origin) == message.end() ||
         http::origin_allowed(message, options_.allowed_origins);
}

namespace {

// CORS for allowed browser origins, on every answer (errors included).
void add_cors(const http::request& message, http::response& answer, bool allowed) {
  const auto origin = message[beast_http::field::origin];
  if (origin.empty() || !allowed) {
    return;
  }
  answer.set(beast_http::field::access_control_allow_origin, origin);
  answer.set(beast_http::field::access_control_allow_credentials, "true");
  answer.set(beast_http::field::vary, "Origin");
}

http::response error_answer(const http::request& message, protocol_error error, bool cors) {
  http::response answer{error == protocol_error::forbidden ? http::status::forbidden
                                                            : http::status::bad_request,
                        message.version()};
  answer.set(beast_http::field::content_type, "application/json");
  answer.set(beast_http::field::cache_control, "no-store");
  answer.body() = boost::json::serialize(boost::json::object{
      {"code", static_cast<int>(error)}, {"message", message_of(error)}});
  answer.keep_alive(message.keep_alive());
  add_cors(message, answer, cors);
  answer.prepare_payload();
  return answer;
}

// A draining server takes no new sessions: 503, which a proxy may retry on another node.
http::response draining_answer(const http::request& message, bool cors) {
  http::response answer{http::status::service_unavailable, message.version()};
  answer.set(beast_http::field::content_type, "application/json");
  answer.set(beast_http::field::cache_control, "no-store");
  answer.body() = R"({"message":"Server draining"})";
  answer.keep_alive(false);
  add_cors(message, answer, cors);
  answer.prepare_payload();
  return answer;
}

http::response text_answer(const http::request& message, std::string body, std::string_view type,
                           bool cors) {
  http::response answer{http::status::ok, message.version()};
  answer.set(beast_http::field::content_type, type);
  answer.set(beast_http::field::cache_control, "no-store");
  answer.body() = std::move(body);
  answer.keep_alive(message.keep_alive());
  add_cors(message, answer, cors);
  answer.prepare_payload();
  return answer;
}

} // namespace

asio::awaitable<http::response> engine::handle_http(http::request_context& context) {
  const auto& message = context.message;
  const bool cors = origin_allowed(message);
  if (message.method() == beast_http::verb::options) {
    http::response answer{http::status::no_content, message.version()};
    add_cors(message, answer, cors);
    answer.set(beast_http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    if (const auto requested = message[beast_http::field::access_control_request_headers];
        !requested.empty()) {
      answer.set(beast_http::field::access_control_allow_headers, requested);
    }
    answer.keep_alive(message.keep_alive());
    answer.prepare_payload();
    co_return answer;
  }
  const auto query = parse_query(message.target());
  if (!query.transport || (*query.transport != "polling" && *query.transport != "websocket")) {
    co_return error_answer(message, protocol_error::transport_unknown, cors);
  }
  if (query.sid) {
    auto live = find(*query.sid);
    if (!live) {
      co_return error_answer(message, protocol_error::unknown_sid, cors);
    }
    if (*query.transport != "polling") {
      co_return error_answer(message, protocol_error::bad_request, cors);
    }
    poll_answer result;
    if (message.method() == beast_http::verb::get) {
      result = co_await asio::co_spawn(live->executor(), live->poll(), asio::use_awaitable);
    } else if (message.method() == beast_http::verb::post) {
      if (beast::iequals(message[beast_http::field::content_type], "application/octet-stream")) {
        auto refuse = [live] { live->close(close_reason::protocol_error); };
        asio::post(live->executor(), std::move(refuse));
        co_return error_answer(message, protocol_error::bad_request, cors);
      }
      result = co_await asio::co_spawn(live->executor(), live->receive(message.body()),
                                       asio::use_awaitable);
    } else {
      co_return error_answer(message, protocol_error::bad_request, cors);
    }
    switch (result.what) {
    case poll_answer::kind::ok:
      co_return text_answer(message, std::move(result.body),
                            message.method() == beast_http::verb::get ? "text/plain; charset=UTF-8"
                                                                      : "text/html",
                            cors);
    case poll_answer::kind::unknown_session:
      co_return error_answer(message, protocol_error::unknown_sid, cors);
    case poll_answer::kind::payload_too_large:
    case poll_answer::kind::bad_request:
      co_return error_answer(message, protocol_error::bad_request, cors);
    }
  }
  if (message.method() != beast_http::verb::get) {
    co_return error_answer(message, protocol_error::bad_handshake_method, cors);
  }
  if (*query.transport == "websocket") {
    co_return error_answer(message, protocol_error::bad_request, cors); // not an upgrade
  }
  if (!cors) {
    co_return error_answer(message, protocol_error::forbidden, cors);
  }
  if (!query.eio || *query.eio != "4") {
    co_return error_answer(message, protocol_error::unsupported_protocol_version, cors);
  }
  handshake opened_with{context.client_address, std::string(message[beast_http::field::cookie])};
  auto executor = co_await asio::this_coro::executor;
  auto created = open(executor, std::move(opened_with), session::transport::polling);
  if (!created) {
    co_return draining_answer(message, cors);
  }
  const auto open_json = created->start();
  handler_.on_open(created);
  co_return text_answer(message, "0" + open_json, "text/plain; charset=UTF-8", cors);
}

namespace {

asio::awaitable<void> refuse_upgrade(std::shared_ptr<http::upgrade_request> upgrade,
                                     http::response answer) {
  answer.keep_alive(false);
  co_await beast_http::async_write(upgrade->stream, answer, asio::as_tuple(asio::use_awaitable));
  beast::error_code ignored;
  upgrade->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> nothing() { co_return; }

// A connection's coroutine run on another executor (the session's), for the caller to await.
asio::awaitable<void> run_on(asio::any_io_executor executor, asio::awaitable<void> connection) {
  co_await asio::co_spawn(executor, std::move(connection), asio::use_awaitable);
}

} // namespace

// Not a coroutine: the checks and the hand-over run now, and what is returned is a coroutine
// that holds only what the connection needs from then on (not this function's locals, nor
// the moved-from stream and buffer of the upgrade request).
asio::awaitable<void> engine::handle_upgrade(std::shared_ptr<http::upgrade_request> upgrade) {
  const auto& message = upgrade->message;
  const bool cors = origin_allowed(message);
  const auto query = parse_query(message.target());
  if (!query.transport || *query.transport != "websocket") {
    auto answer = error_answer(message, protocol_error::transport_unknown, cors);
    return refuse_upgrade(std::move(upgrade), std::move(answer));
  }
  if (!cors) {
    auto answer = error_answer(message, protocol_error::forbidden, cors);
    return refuse_upgrade(std::move(upgrade), std::move(answer));
  }
  std::shared_ptr<session> live;
  if (query.sid) {
    live = find(*query.sid);
    if (!live) {
      auto answer = error_answer(message, protocol_error::unknown_sid, cors);
      return refuse_upgrade(std::move(upgrade), std::move(answer));
    }
  } else {
    if (!query.eio || *query.eio != "4") {
      auto answer = error_answer(message, protocol_error::unsupported_protocol_version, cors);
      return refuse_upgrade(std::move(upgrade), std::move(answer));
    }
    handshake opened_with{upgrade->client_address, std::string(message[beast_http::field::cookie])};
    live = open(upgrade->stream.get_executor(), std::move(opened_with), session::transport::websocket);
    if (!live) {
      auto answer = draining_answer(message, cors);
      return refuse_upgrade(std::move(upgrade), std::move(answer));
    }
  }

  // The session's executor runs everything of this connection: move the socket there.
  const bool same_executor = upgrade->stream.get_executor() == live->executor();
  std::shared_ptr<websocket> socket;
  if (same_executor) {
    socket = std::make_shared<websocket>(coalescing_socket(std::move(upgrade->stream.socket())));
  } else {
    auto& original = upgrade->stream.socket();
    beast::error_code error;
    const auto protocol = original.local_endpoint(error).protocol();
    if (error) {
      return nothing();
    }
    const auto handle = original.release(error);
    if (error) {
      return nothing();
    }
    socket = std::make_shared<websocket>(coalescing_socket(live->executor(), protocol, handle));
  }
  socket->hold_open(std::move(upgrade->open));
  auto request = std::make_unique<http::request>(std::move(upgrade->message));
  upgrade.reset();
  if (!query.sid) {
    live->start();
    // on_open runs on the session's executor, like every other handler call.
    auto opened = [this, live] { handler_.on_open(live); };
    asio::post(live->executor(), std::move(opened));
  }
  auto connection = live->run_websocket(std::move(socket), std::move(request));
  if (same_executor) {
    return connection;
  }
  auto executor = live->executor();
  return run_on(std::move(executor), std::move(connection));
}

} // namespace parley::engineio
