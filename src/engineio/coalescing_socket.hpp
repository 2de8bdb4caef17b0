#pragma once
// The TCP layer under a session's WebSocket: it gathers the frames written while the
// session's writer holds it and sends them with one system call when the writer lets go.
//
// Engine.IO over WebSocket sends one packet per WebSocket message, each a frame written on
// its own. Under load a socket has many packets queued at once (the acks
// and messages of one group commit), and one `send` per packet was the largest single cost
// of delivering a message. Unheld, the socket sends each write as soon as the handlers
// queued before it have run (the WebSocket's own control frames: pongs, the close handshake).
//
// Backpressure: a write completes once its bytes are gathered, unless a send is already in
// progress and more than `k_high_water` bytes wait; it then completes when that send does,
// so a client that stops reading fills the session's own queue (and trips its limit) as
// before.
//
// Thread-safety: like the socket it wraps, use it from its executor only.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::engineio {

class coalescing_socket {
public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using executor_type = next_layer_type::executor_type;
  using write_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  using drain_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  /// Bytes gathered beyond which a write waits for the send in progress.
  static constexpr std::size_t k_high_water = 64 * 1024;

  explicit coalescing_socket(next_layer_type socket)
      : state_(std::make_shared<state>(std::move(socket))) {}
  coalescing_socket(const executor_type& executor, const boost::asio::ip::tcp& protocol,
                    next_layer_type::native_handle_type handle)
      : state_(std::make_shared<state>(next_layer_type(executor, protocol, handle))) {}

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  next_layer_type& next_layer() noexcept { return state_->socket; }
  const next_layer_type& next_layer() const noexcept { return state_->socket; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return state_->socket.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [owner = state_](auto handler, const ConstBufferSequence& data) {
          std::size_t size = 0;
          for (auto piece = boost::asio::buffer_sequence_begin(data);
               piece != boost::asio::buffer_sequence_end(data); ++piece) {
            const boost::asio::const_buffer bytes(*piece);
            owner->gathered.append(static_cast<const char*>(bytes.data()), bytes.size());
            size += bytes.size();
          }
          owner->write(write_handler(std::move(handler)), size);
        },
        token, buffers);
  }

  /// What gather() did with its bytes.
  enum class gather_outcome {
    ok,     ///< gathered (and sent, or to be sent, as a write's would be)
    full,   ///< gathered, past the high-water mark with a send in progress: wait in
            ///< async_room() before gathering more
    failed, ///< not gathered: an earlier send failed
  };

  /// A write without a completion: gathers `pieces` (one after the other) now.
  gather_outcome gather(std::initializer_list<std::string_view> pieces) {
    return state_->gather(pieces);
  }

  /// Completes once the send in progress has ended (with its error), after gather() said
  /// `full`.
  template <class Token> auto async_room(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [owner = state_](auto handler) {
          owner->waiting.emplace_back(
              write_handler(
                  [done = std::move(handler)](boost::system::error_code error,
                                              std::size_t) mutable { std::move(done)(error); }),
              0);
        },
        token);
  }

  /// While held (holds nest), writes only gather; the last release() sends them.
  void hold() { ++state_->holds; }
  void release() {
    if (--state_->holds == 0) {
      state_->send();
    }
  }
  /// Ends a hold without sending (the connection is being torn down).
  void abandon_hold() { --state_->holds; }

  /// Completes once everything gathered so far has been sent (or sending failed).
  template <class Token> auto async_drain(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [owner = state_](auto handler) { owner->drain(drain_handler(std::move(handler))); }, token);
  }

private:
  struct state : std::enable_shared_from_this<state> {
    explicit state(next_layer_type tcp) : socket(std::move(tcp)) {}
    void write(write_handler handler, std::size_t size);
    gather_outcome gather(std::initializer_list<std::string_view> pieces);
    /// After bytes were appended to `gathered`: drops them after a failed send, sends past
    /// the high-water mark (or says `full` while a send is in progress), else schedules a
    /// send unless held. Shared by write() and gather().
    gather_outcome settle();
    void send();
    void schedule_send();
    void sent(boost::system::error_code error);
    void drain(drain_handler handler);
    void complete(write_handler handler, boost::system::error_code error, std::size_t size);

    next_layer_type socket;
    std::string gathered;  ///< Written, not yet handed to the kernel.
    std::string in_flight; ///< Being sent.
    bool sending = false;
    bool send_posted = false;
    int holds = 0;
    boost::system::error_code failure;
    std::vector<std::pair<write_handler, std::size_t>> waiting; ///< Past the high-water mark.
    std::vector<drain_handler> draining;
  };

  std::shared_ptr<state> state_;
};

} // namespace parley::engineio
