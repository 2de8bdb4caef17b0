#include "http/server.hpp"

#include "common/log.hpp"
#include "common/thread_name.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <exception>
#include <optional>

namespace parley::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t k_max_drained_bytes = 8 * 1024 * 1024;

/// Owned by the connection's coroutine; the drain reaches it through a weak_ptr and acts on
/// it only on the connection's own executor.
struct server::connection_state {
  std::uint64_t id = 0;
  std::string address;
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr; // valid while the coroutine runs
  bool idle = true;                    // waiting for the next request
};

server::server(server_options options, const router& routes, metrics& counters)
    : options_(std::move(options)), routes_(routes), metrics_(counters) {}

server::~server() {
  stop();
  wait();
}

asio::any_io_executor server::next_executor() {
  const auto index = next_context_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
  return contexts_[index]->get_executor();
}

void server::start() {
  largest_body_limit_ = options_.max_body_bytes;
  for (const auto& [prefix, limit] : options_.body_limits) {
    largest_body_limit_ = std::max(largest_body_limit_, limit);
  }
  const std::size_t thread_count = std::max<std::size_t>(1, options_.threads);
  for (std::size_t index = 0; index < thread_count; ++index) {
    // Not the concurrency hint 1 ("one thread"), although one thread runs each context: with
    // it, Asio keeps what a thread posts to its own context in a queue of the running handler's
    // that joins the context's queue only when that handler returns, so a post made later from
    // another thread runs first. An event handed to a socket of this thread and then an HTTP
    // answer written at once would let the client's next request, served on another thread,
    // overtake the event (docs/architecture.md, "Threads").
    contexts_.push_back(std::make_unique<asio::io_context>());
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  const tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
  acceptor_->open(endpoint.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  acceptor_->bind(endpoint);
  acceptor_->listen(asio::socket_base::max_listen_connections);
  bound_port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(*contexts_[0], accept_loop(), asio::detached);
  for (std::size_t index = 0; index < contexts_.size(); ++index) {
    auto body = [&context = contexts_[index], make_state = options_.thread_state] {
      std::shared_ptr<void> state;
      if (make_state) {
        try {
          state = make_state(context->get_executor());
        } catch (const std::exception& error) {
          spdlog::error("http.thread_state_failed error={}", error.what());
        }
      }
      context->run();
    };
    threads_.push_back(common::named_thread(fmt::format("io-{}", index), std::move(body)));
  }
  spdlog::info("http.listening address={}:{} threads={}", options_.host, bound_port_,
               thread_count);
}

void server::on_upgrade(std::string path_prefix, upgrade_handler handler) {
  upgrades_.emplace_back(std::move(path_prefix), std::move(handler));
}

void server::on_drain(std::function<void()> listener) {
  drain_listeners_.push_back(std::move(listener));
}

namespace {
std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Writes an answer as Beast's serializer does (the status line, the fields in their order, a
// blank line, the body), but in one write of two buffers, the head written into `head` first:
// the serializer's buffer sequences cost more instructions than a page of history (a chunked
// answer still goes through it).
asio::awaitable<beast::error_code> write_answer(beast::tcp_stream& stream, const response& answer,
                                                std::string& head) {
  if (answer.chunked()) {
    auto [error, written] = co_await beast_http::async_write(stream, answer, use_tuple);
    co_return error;
  }
  const unsigned version = answer.version();
  const unsigned code = answer.result_int();
  head.assign("HTTP/1.1 000 "); // then the version's and the code's digits, as Beast writes
  head[5] = char('0' + version / 10);
  head[7] = char('0' + version % 10);
  head[9] = char('0' + code / 100);
  head[10] = char('0' + code / 10 % 10);
  head[11] = char('0' + code % 10);
  head += answer.reason();
  head += "\r\n";
  for (const auto& field : answer) {
    head += field.name_string();
    head += ": ";
    head += field.value();
    head += "\r\n";
  }
  head += "\r\n";
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(answer.body())};
  auto [error, written] = co_await asio::async_write(stream, buffers, use_tuple);
  co_return error;
}
} // namespace

std::pair<std::string, bool> server::client_of(const beast_http::fields& headers,
                                               const std::string& peer) const {
  std::string address = peer;
  bool secure = false;
  if (options_.trust_proxy) {
    // nginx appends the address it saw: the last hop is the one to trust.
    if (const auto forwarded = headers["X-Forwarded-For"]; !forwarded.empty()) {
      const auto comma = forwarded.rfind(',');
      auto last = forwarded.substr(comma == std::string_view::npos ? 0 : comma + 1);
      while (!last.empty() && last.front() == ' ') {
        last.remove_prefix(1);
      }
      address = std::string(last);
    }
    secure = beast::iequals(headers["X-Forwarded-Proto"], "https");
  }
  return {std::move(address), secure};
}

std::size_t server::body_limit_for(std::string_view target) const {
  const auto path = path_of(target);
  for (const auto& [prefix, limit] : options_.body_limits) {
    if (path.starts_with(prefix)) {
      return limit;
    }
  }
  return options_.max_body_bytes;
}

const upgrade_handler* server::upgrade_for(std::string_view target) const {
  const auto path = path_of(target);
  for (const auto& [prefix, handler] : upgrades_) {
    if (path.starts_with(prefix)) {
      return &handler;
    }
  }
  return nullptr;
}

void server::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_requested_) {
      return;
    }
    stop_requested_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
    if (contexts_.empty()) {
      changed_.notify_all();
      return;
    }
  }
  draining_ = true;
  spdlog::info("http.draining");
  for (const auto& listener : drain_listeners_) {
    listener();
  }
  asio::post(*contexts_[0], [this] {
    beast::error_code ignored;
    acceptor_->close(ignored);
  });
  std::vector<std::shared_ptr<connection_state>> open;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, weak] : connections_) {
      if (auto state = weak.lock()) {
        open.push_back(std::move(state));
      }
    }
  }
  for (auto& state : open) {
    asio::post(state->executor, [state] {
      if (state->idle && state->stream != nullptr) {
        beast::error_code ignored;
        state->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        state->stream->socket().close(ignored);
      }
    });
  }
  changed_.notify_all();
}

void server::wait() {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stop_requested_; });
    if (wait_started_) {
      // Another call (or an earlier one, e.g. before the destructor's) does the drain.
      changed_.wait(lock, [this] { return wait_finished_; });
      return;
    }
    wait_started_ = true;
    if (!changed_.wait_until(lock, drain_deadline_, [this] { return connections_.empty(); })) {
      spdlog::warn("http.drain_timeout connections={}", connections_.size());
    }
  }
  for (auto& guard : guards_) {
    guard.reset();
  }
  for (auto& context : contexts_) {
    context->stop();
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
  {
    std::lock_guard lock(mutex_);
    wait_finished_ = true;
  }
  changed_.notify_all();
}

bool server::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto& count = per_address_[address];
  if (count >= options_.max_connections_per_address) {
    return false;
  }
  ++count;
  return true;
}

void server::release(const std::string& address, std::uint64_t connection_id) {
  std::size_t remaining = 0;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = per_address_.find(address); found != per_address_.end()) {
      remaining = --found->second;
      if (remaining == 0) {
        per_address_.erase(found);
      }
    }
    connections_.erase(connection_id);
  }
  changed_.notify_all();
  // Logged once the slot is free again, so a client (or a test) can tell when it may reconnect.
  spdlog::debug("http.connection_closed address={} remaining={}", address, remaining);
}

asio::awaitable<void> server::accept_loop() {
  for (;;) {
    auto& context = *contexts_[next_context_.fetch_add(1, std::memory_order_relaxed) %
                               contexts_.size()];
    auto [error, socket] = co_await acceptor_->async_accept(context, use_tuple);
    if (error == asio::error::operation_aborted || !acceptor_->is_open()) {
      co_return;
    }
    if (error) {
      // Out of file descriptors and the like: log, breathe, go on.
      spdlog::warn("http.accept_failed error={}", log::quoted(error.message()));
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    beast::error_code endpoint_error;
    const auto remote = socket.remote_endpoint(endpoint_error);
    if (endpoint_error) {
      continue;
    }
    std::string address = remote.address().to_string();
    if (!admit(address)) {
      spdlog::warn("http.too_many_connections address={}", address);
      continue; // the socket closes as it goes out of scope
    }
    // Small writes (acks, events) go out at once: without this, Nagle's algorithm holds a
    // write back until the peer's delayed ACK, up to 40 ms on Linux.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto state = std::make_shared<connection_state>();
    state->address = std::move(address);
    state->executor = socket.get_executor();
    {
      std::lock_guard lock(mutex_);
      state->id = next_connection_id_++;
      connections_.emplace(state->id, state);
    }
    asio::co_spawn(state->executor, serve(std::move(socket), state), asio::detached);
  }
}

asio::awaitable<void> server::serve(tcp::socket socket, std::shared_ptr<connection_state> state) {
  metrics_.connection_opened();
  beast::tcp_stream stream(std::move(socket));
  state->stream = &stream;
  beast::flat_buffer buffer;
  std::string answer_head; // each answer's status line and fields, written out
  bool first_request = true;
  beast::error_code error;

  // Answers a request that could not be read, then the connection closes.
  auto refuse = [&](status code, std::string_view error_code,
                    std::string_view message) -> asio::awaitable<void> {
    request placeholder;
    placeholder.version(11);
    auto answer = error_response(placeholder, code, error_code, message);
    answer.keep_alive(false);
    stream.expires_after(options_.header_timeout);
    co_await beast_http::async_write(stream, answer, use_tuple);
    metrics_.record_request("unreadable", "-", static_cast<unsigned>(code),
                            std::chrono::nanoseconds(0));
    // Lingering close: the client may still be sending the request it cannot finish. Reading
    // (and dropping) a bounded amount first lets it see the answer instead of a reset.
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> sink{};
    std::size_t drained = 0;
    while (drained < k_max_drained_bytes) {
      auto [read_error, bytes] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      if (read_error) {
        break;
      }
      drained += bytes;
    }
  };

  for (;;) {
    if (draining_) {
      break;
    }
    // The headers first: a streaming route (an upload, a file) reads its body itself.
    beast_http::request_parser<beast_http::empty_body> head;
    head.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    head.body_limit(boost::none); // each route's own limit is applied below
    state->idle = true;
    stream.expires_after(first_request ? options_.header_timeout : options_.idle_timeout);
    std::tie(error, std::ignore) = co_await beast_http::async_read_header(stream, buffer, head, use_tuple);
    state->idle = false;
    std::optional<router::match> found; // the route, found once for the whole request
    if (!error && !beast::websocket::is_upgrade(head.get())) {
      found = routes_.find(head.get().method(), path_of(head.get().target()));
      if (found->streaming != nullptr) {
        const auto [address, secure] = client_of(head.get(), state->address);
        const bool keep =
            co_await serve_streaming(stream, buffer, head, std::move(*found), address, secure);
        if (!keep || draining_) {
          break;
        }
        first_request = false;
        continue;
      }
    }
    beast_http::request_parser<beast_http::string_body> parser(std::move(head));
    if (!error) {
      const auto limit = body_limit_for(parser.get().target());
      if (const auto length = parser.content_length(); length && *length > limit) {
        error = beast_http::error::body_limit;
      } else {
        parser.body_limit(limit); // for chunked bodies
      }
    }
    if (!error) {
      const auto& header = parser.get();
      if (beast::iequals(header[beast_http::field::expect], "100-continue")) {
        beast_http::response<beast_http::empty_body> proceed{status::continue_, 11};
        std::tie(error, std::ignore) = co_await beast_http::async_write(stream, proceed, use_tuple);
      }
    }
    if (!error && !parser.is_done()) {
      stream.expires_after(options_.header_timeout);
      std::tie(error, std::ignore) = co_await beast_http::async_read(stream, buffer, parser, use_tuple);
    }
    if (error == beast_http::error::header_limit) {
      co_await refuse(status::request_header_fields_too_large, "header_too_large",
                      "The request headers are too large.");
      break;
    }
    if (error == beast_http::error::body_limit) {
      co_await refuse(status::payload_too_large, "payload_too_large",
                      "The request body is too large.");
      break;
    }
    if (error == beast_http::error::end_of_stream || error == asio::error::eof ||
        error == beast::error::timeout || error == asio::error::operation_aborted ||
        error == asio::error::connection_reset || error == asio::error::bad_descriptor) {
      break;
    }
    if (error) {
      co_await refuse(status::bad_request, "bad_request", "The request is not valid HTTP/1.1.");
      break;
    }
    request message = parser.release();
    if (beast::websocket::is_upgrade(message)) {
      if (const auto* handler = upgrade_for(message.target())) {
        // The WebSocket runs in a coroutine of its own, and this one ends here: its frame
        // (the parser, the buffers, room for every local above) is not kept for the life of a
        // long-lived connection. The connection counts as open until `open` is released.
        // (The count's key, not the state: a long-lived connection does not keep the state.)
        std::shared_ptr<void> open(nullptr, [this, address = state->address, id = state->id](void*) {
          metrics_.connection_closed();
          release(address, id);
        });
        auto upgrade = std::make_shared<upgrade_request>(upgrade_request{
            std::move(stream), std::move(message), std::move(buffer), state->address, std::move(open)});
        state->stream = nullptr;
        auto finished = [](const std::exception_ptr& failure) {
          if (failure) {
            try {
              std::rethrow_exception(failure);
            } catch (const std::exception& error) {
              spdlog::error("http.upgrade_failed error={}", log::quoted(error.what()));
            } catch (...) {
              spdlog::error("http.upgrade_failed error=unknown");
            }
          }
        };
        asio::co_spawn(state->executor, (*handler)(std::move(upgrade)), std::move(finished));
        co_return;
      }
    }
    const auto [address, secure] = client_of(message, state->address);
    auto answer = co_await dispatch(message, address, secure, std::move(found));
    if (draining_) {
      answer.keep_alive(false);
    }
    stream.expires_after(options_.idle_timeout);
    error = co_await write_answer(stream, answer, answer_head);
    if (error || !answer.keep_alive()) {
      break;
    }
    first_request = false;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, error);
  state->stream = nullptr;
  metrics_.connection_closed();
  release(state->address, state->id);
}

asio::awaitable<response> server::dispatch(const request& message, const std::string& address,
                                           bool secure, std::optional<router::match> found) {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view target = message.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  std::optional<response> answer;
  std::string_view route = "unmatched";
  if (path.empty() || path.front() != '/') {
    answer = error_response(message, status::bad_request, "bad_request",
                            "The request target must be a path.");
  } else {
    if (!found) {
      found = routes_.find(message.method(), path);
    }
    route = found->route;
    if (found->target == nullptr && !found->allowed.empty()) {
      answer = error_response(message, status::method_not_allowed, "method_not_allowed",
                              "This method is not allowed here.");
      answer->set(beast_http::field::allow, found->allowed);
    } else if (found->target == nullptr) {
      answer = error_response(message, status::not_found, "not_found", "There is nothing here.");
    } else {
      request_context context{message, address, secure, std::move(found->parameters), path, query};
      try {
        answer = co_await (*found->target)(context);
      } catch (const std::exception& failure) {
        spdlog::error("http.handler_failed route={} error={}", route, log::quoted(failure.what()));
        answer = error_response(message, status::internal_server_error, "internal_error",
                                "Something went wrong on our side. Try again.");
      }
    }
  }
  if (message.method() == beast_http::verb::head) {
    const auto length = answer->body().size();
    answer->body().clear();
    answer->content_length(length);
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const auto code = static_cast<unsigned>(answer->result_int());
  metrics_.record_request(route, message.method_string(), code, elapsed);
  if (code >= 500) {
    spdlog::warn("http.request method={} route={} status={} address={}", message.method_string(),
                 route, code, address);
  } else {
    spdlog::debug("http.request method={} route={} status={} address={} us={}",
                  message.method_string(), route, code, address,
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
  }
  co_return std::move(*answer);
}

} // namespace parley::http
