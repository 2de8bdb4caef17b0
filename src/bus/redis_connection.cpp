#include "bus/redis_connection.hpp"

#include <boost/asio/ip/address.hpp>

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace parley::bus::redis::detail {

namespace asio = boost::asio;
using boost::system::error_code;

reply to_reply(const redisReply* r) {
  reply out;
  if (r == nullptr)
    return out;
  switch (r->type) {
  case REDIS_REPLY_STRING:
    out.type = reply::kind::string;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_STATUS:
    out.type = reply::kind::status;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_ERROR:
    out.type = reply::kind::error;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_INTEGER:
    out.type = reply::kind::integer;
    out.integer = r->integer;
    break;
  case REDIS_REPLY_ARRAY:
    out.type = reply::kind::array;
    out.elements.reserve(r->elements);
    for (std::size_t i = 0; i < r->elements; ++i)
      out.elements.push_back(to_reply(r->element[i]));
    break;
  default:
    break; // nil
  }
  return out;
}

connection_base::connection_base(asio::any_io_executor executor, endpoint where, options opts,
                                 const char* role)
    : executor_(std::move(executor)), where_(std::move(where)), opts_(std::move(opts)), role_(role),
      resolver_(executor_), reconnect_timer_(executor_), connect_timer_(executor_),
      ping_timer_(executor_), deadline_timer_(executor_), jitter_(std::random_device{}()) {}

connection_base::~connection_base() {
  if (link_) {
    link_->detach();
    link_->close(error::stopped);
  }
}

void connection_base::start() {
  if (started_ || stopped_)
    return;
  started_ = true;
  connect_now();
}

void connection_base::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  ++generation_;
  ready_ = false;
  resolver_.cancel();
  reconnect_timer_.cancel();
  connect_timer_.cancel();
  ping_timer_.cancel();
  deadline_timer_.cancel();
  ++deadline_sequence_;
  deadline_armed_ = false;
  if (link_) {
    auto l = link_; // keep link_ set while hiredis runs the pending callbacks
    l->close(error::stopped);
    link_.reset();
  }
  link_down(error::stopped);
  spdlog::debug("bus.redis name={} role={} event=stopped", opts_.name, role_);
}

void connection_base::connect_now() {
  if (stopped_)
    return;
  error_code ec;
  auto address = asio::ip::make_address(where_.host, ec);
  if (!ec) {
    open_link(address.to_string());
    return;
  }
  auto generation = generation_;
  resolver_.async_resolve(
      where_.host, std::to_string(where_.port),
      [self = shared_from_this(), generation](error_code ec,
                                              asio::ip::tcp::resolver::results_type results) {
        if (self->stopped_ || generation != self->generation_)
          return;
        if (ec || results.empty()) {
          spdlog::warn("bus.redis name={} role={} event=resolve_failed host={} error={}",
                       self->opts_.name, self->role_, self->where_.host, ec.message());
          self->schedule_reconnect();
          return;
        }
        self->open_link(results.begin()->endpoint().address().to_string());
      });
}

void connection_base::open_link(const std::string& address) {
  ++generation_;
  auto l = std::make_shared<link>(executor_, this);
  if (auto ec = l->open(address, where_.port)) {
    spdlog::warn("bus.redis name={} role={} event=connect_failed endpoint={} error={}", opts_.name,
                 role_, where_.to_string(), ec.message());
    schedule_reconnect();
    return;
  }
  link_ = std::move(l);
  auto generation = generation_;
  connect_timer_.expires_after(opts_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || self->stopped_ || generation != self->generation_ || self->ready_)
      return;
    self->fail(error::timeout, "connect or handshake timed out");
  });
}

void connection_base::link_connected(link& l) {
  if (!is_current(&l) || stopped_)
    return;
  begin_handshake(l);
}

void connection_base::send_auth_and_select(link& l, bool select,
                                           std::move_only_function<void()> next) {
  auto deadline = clock::now() + opts_.connect_timeout;
  auto check = [self = shared_from_this(), lp = &l](const char* what) {
    return [self, lp, what](error_code ec, const redisReply* r) {
      if (ec || !self->is_current(lp))
        return false;
      if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
        self->fail(error::protocol_error,
                   fmt::format("{} failed: {}", what, r ? std::string(r->str, r->len) : "?"));
        return false;
      }
      return true;
    };
  };
  if (!where_.password.empty()) {
    std::vector<std::string> args{"AUTH"};
    if (!where_.username.empty())
      args.push_back(where_.username);
    args.push_back(where_.password);
    l.command(args, deadline,
              [ok = check("AUTH")](error_code ec, const redisReply* r) { ok(ec, r); });
  }
  if (select && where_.database != 0) {
    std::array<std::string, 2> args{"SELECT", std::to_string(where_.database)};
    l.command(args, deadline,
              [ok = check("SELECT")](error_code ec, const redisReply* r) { ok(ec, r); });
  }
  // Pipelined: the last reply says all went well (a failure above already closed the link).
  std::array<std::string, 1> ping{"PING"};
  l.command(
      ping, deadline,
      [ok = check("PING"), next = std::move(next)](error_code ec, const redisReply* r) mutable {
        if (ok(ec, r))
          next();
      });
  watch_deadline(deadline);
}

void connection_base::mark_ready() {
  if (stopped_ || ready_)
    return;
  ready_ = true;
  attempt_ = 0;
  connect_timer_.cancel();
  spdlog::info("bus.redis name={} role={} event=ready endpoint={}", opts_.name, role_,
               where_.to_string());
  schedule_ping();
  became_ready();
}

void connection_base::fail(error_code reason, std::string_view why) {
  if (!link_)
    return;
  spdlog::warn("bus.redis name={} role={} event=drop endpoint={} reason={} detail={}", opts_.name,
               role_, where_.to_string(), reason.message(), why);
  auto l = link_;
  l->close(reason);
}

void connection_base::link_closed(link& l, error_code reason, const std::string& detail) {
  if (!is_current(&l))
    return;
  link_.reset();
  ++generation_;
  bool was_ready = std::exchange(ready_, false);
  connect_timer_.cancel();
  ping_timer_.cancel();
  deadline_timer_.cancel();
  ++deadline_sequence_;
  deadline_armed_ = false;
  link_down(reason);
  spdlog::log(was_ready ? spdlog::level::warn : spdlog::level::debug,
              "bus.redis name={} role={} event=disconnected endpoint={} reason={} detail={}",
              opts_.name, role_, where_.to_string(), reason.message(), detail);
  if (stopped_)
    return;
  if (was_ready && on_disconnected) {
    auto keep = shared_from_this(); // the callback may drop the owner's object
    on_disconnected(reason);
    if (stopped_)
      return;
  }
  schedule_reconnect();
}

void connection_base::schedule_reconnect() {
  if (stopped_)
    return;
  auto base = opts_.reconnect_min.count() << std::min(attempt_, 16u);
  auto capped = std::min<std::int64_t>(base, opts_.reconnect_max.count());
  ++attempt_;
  std::uniform_int_distribution<std::int64_t> spread(capped * 8 / 10, capped * 12 / 10);
  auto delay = std::chrono::milliseconds(std::max<std::int64_t>(1, spread(jitter_)));
  auto generation = generation_;
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || self->stopped_ || generation != self->generation_)
      return;
    self->connect_now();
  });
}

void connection_base::schedule_ping() {
  auto generation = generation_;
  ping_timer_.expires_after(opts_.ping_interval);
  ping_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || self->stopped_ || generation != self->generation_ || !self->ready_ || !self->link_)
      return;
    self->send_probe(*self->link_);
    if (generation == self->generation_ && self->ready_)
      self->schedule_ping();
  });
}

std::optional<clock::time_point> connection_base::earliest_deadline() const {
  if (!link_)
    return std::nullopt;
  return link_->earliest_deadline();
}

// One timer for all the deadlines of a link: armed at the earliest one known, and when it
// fires, checks again (replies are not tracked here, only found gone when it fires).
void connection_base::watch_deadline(clock::time_point deadline) {
  if (stopped_ || !link_)
    return;
  if (deadline_armed_ && deadline_at_ <= deadline)
    return;
  deadline_armed_ = true;
  deadline_at_ = deadline;
  auto sequence = ++deadline_sequence_;
  deadline_timer_.expires_at(deadline);
  deadline_timer_.async_wait([self = shared_from_this(), sequence](error_code ec) {
    if (ec)
      return;
    self->on_deadline(sequence);
  });
}

void connection_base::on_deadline(std::uint64_t sequence) {
  if (sequence != deadline_sequence_ || stopped_)
    return;
  deadline_armed_ = false;
  auto earliest = earliest_deadline();
  if (!earliest)
    return;
  if (*earliest <= clock::now()) {
    fail(error::timeout, "no reply in time");
    return;
  }
  watch_deadline(*earliest);
}

} // namespace parley::bus::redis::detail
