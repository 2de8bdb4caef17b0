// redis::client: commands on one connection, with timeouts, PING liveness and reconnect.

#include "bus/redis.hpp"
#include "bus/redis_connection.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace parley::bus::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

namespace {

// Commands that change how replies flow (pub/sub mode, monitor, RESP3, no replies) would
// desynchronise hiredis's callback queue from ours.
bool unsupported(std::string_view name) {
  std::string upper(name);
  std::ranges::transform(upper, upper.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static constexpr std::array<std::string_view, 9> refused{
      "SUBSCRIBE",    "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
      "SUNSUBSCRIBE", "MONITOR",    "HELLO",      "RESET"};
  return std::ranges::find(refused, upper) != refused.end();
}

bool client_reply_off(const std::vector<std::string>& args) {
  auto same = [](std::string_view a, std::string_view b) {
    return std::ranges::equal(
        a, b, [](unsigned char x, unsigned char y) { return std::toupper(x) == std::toupper(y); });
  };
  return args.size() >= 2 && same(args[0], "CLIENT") && same(args[1], "REPLY");
}

} // namespace

class client_impl final : public connection_base {
public:
  using handler_type = asio::any_completion_handler<client::completion_signature>;

  client_impl(asio::any_io_executor executor, endpoint where, options opts)
      : connection_base(std::move(executor), std::move(where), std::move(opts), "client") {}

  std::function<void()> on_connected;

  void submit(std::vector<std::string> args, handler_type handler) {
    if (is_stopped())
      return complete(std::move(handler), error::stopped);
    if (args.empty())
      return complete(std::move(handler), error::invalid_argument);
    if (unsupported(args.front()) || client_reply_off(args))
      return complete(std::move(handler), error::unsupported_command);
    link* l = current();
    if (!is_ready() || l == nullptr || !l->open())
      return complete(std::move(handler), error::not_connected);
    auto deadline = clock::now() + opts_.command_timeout;
    auto self = std::static_pointer_cast<client_impl>(shared_from_this());
    // The handler is moved into the callback only if the command is queued; keep it in a
    // shared slot so that a refusal can still complete it.
    auto slot = std::make_shared<std::optional<handler_type>>(std::move(handler));
    bool queued = l->command(args, deadline, [self, slot](error_code ec, const redisReply* r) {
      if (*slot)
        self->complete(std::move(**slot), ec, ec ? reply{} : to_reply(r));
    });
    if (!queued)
      return complete(std::move(**slot), error::not_connected);
    watch_deadline(deadline);
  }

private:
  void complete(handler_type handler, error_code ec, reply r = {}) {
    asio::post(executor_, asio::append(std::move(handler), ec, std::move(r)));
  }

  void begin_handshake(link& l) override {
    send_auth_and_select(l, true, [this] { mark_ready(); });
  }

  void became_ready() override {
    if (on_connected) {
      auto keep = shared_from_this();
      on_connected();
    }
  }

  void send_probe(link& l) override {
    if (ping_outstanding_)
      return; // its deadline is still running
    auto deadline = clock::now() + opts_.ping_timeout;
    std::array<std::string, 1> ping{"PING"};
    auto self = std::static_pointer_cast<client_impl>(shared_from_this());
    if (l.command(ping, deadline, [self, lp = &l](error_code, const redisReply*) {
          if (self->is_current(lp))
            self->ping_outstanding_ = false;
        })) {
      ping_outstanding_ = true;
      watch_deadline(deadline);
    }
  }

  void link_down(error_code) override { ping_outstanding_ = false; }

  bool ping_outstanding_ = false;
};

} // namespace detail

client::client(executor_type executor, endpoint where, options opts)
    : impl_(std::make_shared<detail::client_impl>(std::move(executor), std::move(where),
                                                  std::move(opts))) {}

client::~client() {
  impl_->stop();
}

void client::on_connected(std::function<void()> callback) {
  impl_->on_connected = std::move(callback);
}

void client::on_disconnected(std::function<void(error_code)> callback) {
  impl_->on_disconnected = std::move(callback);
}

void client::start() {
  impl_->start();
}
void client::stop() {
  impl_->stop();
}
bool client::connected() const {
  return impl_->is_ready();
}
client::executor_type client::get_executor() const {
  return impl_->executor();
}

void client::submit(std::vector<std::string> args,
                    asio::any_completion_handler<completion_signature> handler) {
  impl_->submit(std::move(args), std::move(handler));
}

} // namespace parley::bus::redis
