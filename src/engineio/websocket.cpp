#include "engineio/websocket.hpp"

#include "common/text.hpp"
#include "engineio/exact_allocator.hpp"
#include "engineio/packet.hpp"
#include "engineio/websocket_protocol.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace parley::engineio {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;

namespace {

// What a frame that breaks a rule ends the connection with: the read's error and the close
// code sent (RFC 6455 7.4.1: 1002 a protocol error, 1009 a message too big).
std::pair<boost::system::error_code, std::uint16_t> refusal(frame_status status) {
  switch (status) {
  case frame_status::bad_reserved_bits:
    return {ws::error::bad_reserved_bits, 1002};
  case frame_status::bad_masking:
    return {ws::error::bad_unmasked_frame, 1002}; // a client masks every frame (5.1)
  case frame_status::control_fragmented:
    return {ws::error::bad_control_fragment, 1002};
  case frame_status::control_too_big:
    return {ws::error::bad_control_size, 1002};
  case frame_status::continuation_of_nothing:
    return {ws::error::bad_continuation, 1002};
  case frame_status::data_inside_message:
    return {ws::error::bad_data_frame, 1002};
  case frame_status::too_big:
    return {ws::error::message_too_big, 1009};
  case frame_status::bad_opcode:
  default: // (whole and need_more are not refusals)
    return {ws::error::bad_opcode, 1002};
  }
}

bool valid_close_code(std::uint16_t code) {
  // RFC 6455 7.4: the codes an endpoint may send (1004-1006 and 1015 are reserved).
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

std::string close_payload(std::uint16_t code) {
  return {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

} // namespace

std::size_t websocket::unread_bytes() const {
  boost::system::error_code error;
  const auto pending = socket_.next_layer().available(error);
  return in_.size() + (error ? 0 : pending);
}

void websocket::accept(const beast::http::request<beast::http::string_body>& request,
                       std::string_view server, done_handler handler) {
  namespace http = beast::http;
  boost::system::error_code refused;
  const auto key = request[http::field::sec_websocket_key];
  if (request.method() != http::verb::get) {
    refused = ws::error::bad_method;
  } else if (request.version() != 11) {
    refused = ws::error::bad_http_version;
  } else if (!http::token_list(request[http::field::connection]).exists("upgrade")) {
    refused = ws::error::no_connection_upgrade;
  } else if (!http::token_list(request[http::field::upgrade]).exists("websocket")) {
    refused = ws::error::no_upgrade_websocket;
  } else if (key.empty()) {
    refused = ws::error::no_sec_key;
  } else if (key.size() > 24) {
    refused = ws::error::bad_sec_key;
  } else if (request[http::field::sec_websocket_version] != "13") {
    refused = ws::error::bad_sec_version;
  }
  std::string answer;
  if (!refused) {
    answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: " +
             websocket_accept(key) + "\r\n";
  } else {
    const std::string reason = refused.message();
    answer = refused == ws::error::bad_sec_version
                 ? "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                 : "HTTP/1.1 400 Bad Request\r\n";
    answer += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(reason.size()) +
              "\r\nConnection: close\r\n";
    answer += "Server: ";
    answer += server;
    answer += "\r\n\r\n" + reason;
    ended_ = refused;
  }
  if (!refused) {
    answer += "Server: ";
    answer += server;
    answer += "\r\n\r\n";
    boost::system::error_code ignored;
    socket_.next_layer().non_blocking(true, ignored); // reads: see advance()
  }
  socket_.async_write_some(asio::buffer(answer), [](boost::system::error_code, std::size_t) {});
  socket_.async_drain([self = shared_from_this(), refused,
                       handler = std::move(handler)](boost::system::error_code error) mutable {
    std::move(handler)(refused ? refused : error);
  });
}

void websocket::read(read_handler handler) {
  if (ended_) {
    asio::post(get_executor(), asio::append(std::move(handler), ended_, std::string(), false));
    return;
  }
  reading_.emplace(std::move(handler));
  arm_read_timer();
  if (!delivering_) { // else the delivering loop of advance() goes on with this read
    advance(0);
  }
}

void websocket::advance(int direct) {
  for (;;) {
    // Frames in the bytes kept from an earlier read (a partial frame, or what followed a
    // message), then in what the kernel holds, read without waiting (the socket is
    // non-blocking) into this thread's buffer; what is left of it is kept.
    parsed outcome = parsed::need_more;
    if (!in_.empty()) {
      std::string_view held(in_);
      outcome = take_frames(held);
      if (outcome == parsed::failed) {
        return;
      }
      if (held.empty()) {
        std::string().swap(in_); // an idle connection keeps no buffer
      } else {
        in_.erase(0, in_.size() - held.size());
      }
    }
    if (outcome == parsed::need_more) {
      // After a short read the kernel had nothing more: wait at once. Starting a wait
      // re-registers the socket with epoll (Asio's EPOLL_CTL_MOD, edge-triggered), which
      // reports bytes that came in since at once, so none are missed; and a read that would
      // find the socket empty is one system call a message saved (recvfrom's EAGAIN).
      if (std::exchange(drained_, false)) {
        wait_readable();
        return;
      }
      auto& buffer = read_buffer();
      boost::system::error_code error;
      const auto got = socket_.next_layer().read_some(asio::buffer(buffer), error);
      if (error == asio::error::would_block || error == asio::error::try_again) {
        wait_readable();
        return;
      }
      if (error) {
        end(error, false);
        finish_read(error);
        return;
      }
      drained_ = got < buffer.size();
      if (!in_.empty()) { // the rest of a partial frame: parsed from in_ on the next turn
        in_.append(buffer.data(), got);
        continue;
      }
      std::string_view fresh(buffer.data(), got);
      outcome = take_frames(fresh);
      if (outcome == parsed::failed) {
        return;
      }
      in_.assign(fresh); // before the handler runs: the thread's buffer is not ours then
      if (outcome == parsed::need_more) {
        continue;
      }
    }
    // A whole message: to the handler at once (from a wait's completion, up to `direct`
    // in a row), or posted (from read(), which must not call its handler itself).
    finish_read({}, direct-- > 0);
    if (direct < 0 || !reading_ || ended_) {
      return; // posted, or no read asked for, or one that read() has already answered
    }
  }
}

websocket::parsed websocket::take_frames(std::string_view& bytes) {
  for (;;) {
    const auto outcome = parse_frame(bytes);
    if (outcome != parsed::control) {
      return outcome;
    }
  }
}

std::array<char, websocket::k_read_size>& websocket::read_buffer() {
  thread_local std::array<char, k_read_size> buffer;
  return buffer;
}

void websocket::wait_readable() {
  // Allocated to its size (exact_allocator): an idle connection keeps this wait for its life.
  socket_.next_layer().async_wait(
      asio::socket_base::wait_read,
      asio::bind_allocator(k_exact, [self = shared_from_this()](boost::system::error_code error) {
        if (self->ended_) {
          self->finish_read(self->ended_);
        } else if (error) {
          self->end(error, false);
          self->finish_read(error);
        } else if (self->reading_) {
          self->advance(k_direct_deliveries);
        }
      }));
}

websocket::parsed websocket::parse_frame(std::string_view& bytes) {
  frame_head head;
  const auto room = max_message_ > message_.size() ? max_message_ - message_.size() : 0;
  const auto status = read_frame_head(bytes, true, in_message_, room, head);
  if (status == frame_status::need_more) {
    return parsed::need_more;
  }
  if (status != frame_status::whole) {
    const auto [error, close_code] = refusal(status);
    fail(error, close_code);
    return parsed::failed;
  }
  const std::uint8_t kind = head.opcode;
  const bool control = (kind & 0x8) != 0;
  const auto length = static_cast<std::size_t>(head.length);
  std::string control_payload;
  std::string& into = control ? control_payload : message_;
  const auto start = into.size();
  into.append(bytes.data() + head.size, length);
  mask_in_place(into.data() + start, length, head.mask);
  bytes.remove_prefix(head.size + length);

  if (kind == opcode::ping) {
    if (!close_sent_) {
      write_control(opcode::pong, control_payload);
    }
    return parsed::control;
  }
  if (kind == opcode::pong) {
    return parsed::control;
  }
  if (kind == opcode::close) {
    if (control_payload.size() == 1) {
      fail(ws::error::bad_close_size, 1002);
      return parsed::failed;
    }
    std::string answer;
    if (control_payload.size() >= 2) {
      const auto code =
          static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_payload[0]) << 8) |
                                     static_cast<std::uint8_t>(control_payload[1]));
      if (!valid_close_code(code)) {
        fail(ws::error::bad_close_code, 1002);
        return parsed::failed;
      }
      if (!text::is_valid_utf8(std::string_view(control_payload).substr(2))) {
        fail(ws::error::bad_close_payload, 1007);
        return parsed::failed;
      }
      answer = close_payload(code);
    }
    if (!close_sent_) { // the client's close: answer it with its code
      close_sent_ = true;
      write_control(opcode::close, answer);
    }
    end(ws::error::closed, true);
    finish_read(ws::error::closed);
    return parsed::failed;
  }
  if (kind != opcode::continuation) {
    in_message_ = true;
    message_text_ = kind == opcode::text;
  }
  if (!head.fin) {
    return parsed::control;
  }
  in_message_ = false;
  if (close_sent_) { // closing: what still comes is not read any more
    std::string().swap(message_);
    return parsed::control;
  }
  if (message_text_ && !text::is_valid_utf8(message_)) {
    fail(ws::error::bad_frame_payload, 1007);
    return parsed::failed;
  }
  return parsed::message;
}

void websocket::fail(boost::system::error_code error, std::uint16_t close_code) {
  if (!close_sent_ && !ended_) {
    close_sent_ = true;
    write_control(opcode::close, close_payload(close_code));
  }
  end(error, true);
  finish_read(error);
}

void websocket::finish_read(boost::system::error_code error, bool now) {
  if (!reading_) {
    return;
  }
  if (timer_ && !closing_) {
    timer_->cancel(); // the read's deadline
  }
  auto handler = std::move(*reading_);
  reading_.reset();
  std::string message;
  if (!error) {
    message.swap(message_);
  }
  if (!now) {
    asio::post(get_executor(),
               asio::append(std::move(handler), error, std::move(message), message_text_));
    return;
  }
  delivering_ = true;
  std::move(handler)(error, std::move(message), message_text_);
  delivering_ = false;
}

coalescing_socket::gather_outcome websocket::gather(std::string_view prefix,
                                                    std::string_view payload, bool text) {
  const frame_header header(text ? opcode::text : opcode::binary, prefix.size() + payload.size());
  return socket_.gather({header.bytes(), prefix, payload});
}

void websocket::write_control(std::uint8_t opcode, std::string_view payload) {
  const frame_header header(opcode, payload.size());
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(header.bytes()),
                                                  asio::buffer(payload)};
  socket_.async_write_some(buffers, [](boost::system::error_code, std::size_t) {});
}

void websocket::close(std::uint16_t code, std::chrono::milliseconds limit, done_handler handler) {
  if (ended_) {
    const auto outcome = ended_ == ws::error::closed ? boost::system::error_code() : ended_;
    asio::post(get_executor(), asio::append(std::move(handler), outcome));
    return;
  }
  closing_.emplace(std::move(handler));
  if (!close_sent_) {
    close_sent_ = true;
    write_control(opcode::close, close_payload(code));
  }
  // The pending read takes the client's answer and ends the connection; without one within
  // `limit`, the connection is dropped.
  auto& deadline = timer();
  deadline.expires_after(limit);
  deadline.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (!error) {
      self->end(beast::error::timeout, false);
      self->finish_read(beast::error::timeout);
    }
  });
}

void websocket::abort() {
  end(asio::error::operation_aborted, false);
  finish_read(asio::error::operation_aborted);
  if (open_) {
    // Released after the caller's handler (the session's finish, which logs and tells the
    // layer above): a server draining for shutdown stops once its last connection is gone,
    // and that must not be before the session has finished.
    asio::post(get_executor(), [token = std::move(open_)] {});
  }
}

void websocket::end(boost::system::error_code error, bool send_first) {
  if (ended_) {
    return;
  }
  spdlog::debug("websocket.end error={}", error.message());
  ended_ = error;
  if (timer_) {
    timer_->cancel();
  }
  const auto drop = [](websocket& self) {
    boost::system::error_code ignored;
    self.socket_.next_layer().shutdown(asio::socket_base::shutdown_both, ignored);
    self.socket_.next_layer().close(ignored);
    std::string().swap(self.in_);
    std::string().swap(self.message_);
  };
  if (send_first) {
    socket_.async_drain(
        [self = shared_from_this(), drop](boost::system::error_code) { drop(*self); });
  } else {
    drop(*this);
  }
  if (closing_) {
    auto handler = std::move(*closing_);
    closing_.reset();
    const auto outcome = error == ws::error::closed ? boost::system::error_code() : error;
    asio::post(get_executor(), asio::append(std::move(handler), outcome));
  }
}

void websocket::read_timeout(std::chrono::milliseconds limit) {
  read_timeout_ = limit;
  if (limit.count() <= 0 && timer_ && !closing_ && !reading_) {
    timer_.reset(); // the upgrade probe is over: a long-lived connection keeps no timer
  }
}

asio::steady_timer& websocket::timer() {
  if (!timer_) {
    timer_ = std::make_unique<asio::steady_timer>(get_executor());
  }
  return *timer_;
}

void websocket::arm_read_timer() {
  if (read_timeout_.count() <= 0 || closing_) {
    return;
  }
  auto& deadline = timer();
  deadline.expires_after(read_timeout_);
  deadline.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (!error && self->reading_) {
      self->end(beast::error::timeout, false);
      self->finish_read(beast::error::timeout);
    }
  });
}

} // namespace parley::engineio
