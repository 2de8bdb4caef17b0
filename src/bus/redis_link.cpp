#include "bus/redis_link.hpp"

#include <boost/asio/post.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <climits>
#include <csignal>
#include <mutex>
#include <vector>

namespace parley::bus::redis::detail {

namespace asio = boost::asio;
using boost::system::error_code;

link::link(asio::any_io_executor executor, link_owner* owner)
    : executor_(std::move(executor)), owner_(owner), socket_(executor_) {}

link::~link() {
  // self_ keeps the link alive while hiredis holds the context, so the context is gone
  // here; the descriptor was released in cleanup() and owns nothing.
  if (socket_.is_open())
    socket_.release();
}

namespace {

// hiredis 0.14 writes with write(2), not send(MSG_NOSIGNAL): a write to a connection the
// server has reset raises SIGPIPE, which kills the process by default. Ignore it, unless
// the program chose a disposition of its own.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      std::signal(SIGPIPE, SIG_IGN);
  });
}

} // namespace

error_code link::open(const std::string& address, std::uint16_t port) {
  ignore_sigpipe_once();
  if (context_ != nullptr || self_ != nullptr || closing_)
    return error::invalid_argument;
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), port);
  if (context == nullptr)
    return make_error_code(std::errc::not_enough_memory);
  if (context->err != 0) {
    open_error_ = context->errstr;
    redisAsyncFree(context);
    return error::connection_lost;
  }
  error_code ec;
  socket_.assign(context->c.fd, ec);
  if (ec) {
    open_error_ = ec.message();
    redisAsyncFree(context);
    return ec;
  }
  context_ = context;
  self_ = shared_from_this();
  context->data = this;
  context->ev.data = this;
  context->ev.addRead = &link::on_add_read;
  context->ev.delRead = &link::on_del_read;
  context->ev.addWrite = &link::on_add_write;
  context->ev.delWrite = &link::on_del_write;
  context->ev.cleanup = &link::on_cleanup;
  // The connect callback asks for a write event: connect(2) completes when writable.
  redisAsyncSetConnectCallback(context, &link::on_connect);
  return {};
}

bool link::command(std::span<const std::string> args, clock::time_point deadline, reply_fn fn) {
  if (!open() || args.empty() || args.size() > INT_MAX)
    return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAsyncCommandArgv(context_, &link::on_reply, this, static_cast<int>(args.size()),
                            argv.data(), lengths.data()) != REDIS_OK)
    return false;
  pending_.push_back({deadline, std::move(fn)});
  return true;
}

bool link::pubsub_command(std::span<const std::string> args) {
  if (!open() || args.size() < 2 || args.size() > INT_MAX)
    return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return redisAsyncCommandArgv(context_, &link::on_pubsub, this, static_cast<int>(args.size()),
                               argv.data(), lengths.data()) == REDIS_OK;
}

void link::close(error_code reason) {
  if (context_ == nullptr || closing_)
    return;
  closing_ = true;
  reason_ = reason;
  // Synchronous unless we are inside a hiredis callback: then hiredis frees the context
  // when the callback returns. Either way cleanup() runs before the memory goes.
  redisAsyncFree(context_);
}

std::optional<clock::time_point> link::earliest_deadline() const {
  std::optional<clock::time_point> earliest;
  for (const auto& p : pending_)
    if (!earliest || p.deadline < *earliest)
      earliest = p.deadline;
  return earliest;
}

// --- event hooks -------------------------------------------------------------------------

void link::on_add_read(void* data) {
  auto* self = static_cast<link*>(data);
  self->want_read_ = true;
  self->arm_read();
}

void link::on_del_read(void* data) {
  static_cast<link*>(data)->want_read_ = false;
}

void link::on_add_write(void* data) {
  auto* self = static_cast<link*>(data);
  self->want_write_ = true;
  self->arm_write();
}

void link::on_del_write(void* data) {
  static_cast<link*>(data)->want_write_ = false;
}

void link::on_cleanup(void* data) {
  static_cast<link*>(data)->cleanup();
}

// One wait in flight per direction. A wait that completes when no longer wanted is dropped;
// asio's non-speculative waits re-arm epoll, so readiness already there is reported.
void link::arm_read() {
  if (read_armed_ || context_ == nullptr)
    return;
  read_armed_ = true;
  socket_.async_wait(asio::posix::descriptor_base::wait_read,
                     [self = shared_from_this()](error_code ec) {
                       self->read_armed_ = false;
                       if (ec || self->context_ == nullptr || !self->want_read_)
                         return;
                       redisAsyncHandleRead(self->context_);
                       if (self->context_ != nullptr && self->want_read_)
                         self->arm_read();
                     });
}

void link::arm_write() {
  if (write_armed_ || context_ == nullptr)
    return;
  write_armed_ = true;
  socket_.async_wait(asio::posix::descriptor_base::wait_write,
                     [self = shared_from_this()](error_code ec) {
                       self->write_armed_ = false;
                       if (ec || self->context_ == nullptr || !self->want_write_)
                         return;
                       redisAsyncHandleWrite(self->context_);
                       if (self->context_ != nullptr && self->want_write_)
                         self->arm_write();
                     });
}

void link::cleanup() {
  // Inside hiredis's free: the pending callbacks have run; the fd is closed after we
  // return. Stop watching it without closing it, and let go of hiredis.
  if (context_ != nullptr && context_->err != 0 && open_error_.empty())
    open_error_ = context_->errstr;
  context_ = nullptr;
  closing_ = true;
  want_read_ = want_write_ = false;
  if (socket_.is_open())
    socket_.release(); // cancels the waits (operation_aborted)
  auto self = std::move(self_);
  error_code reason = reason_ ? reason_ : make_error_code(error::connection_lost);
  asio::post(executor_, [self, reason] {
    if (self->owner_ != nullptr)
      self->owner_->link_closed(*self, reason, self->open_error_);
  });
}

// --- hiredis callbacks -------------------------------------------------------------------

void link::on_connect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<link*>(context->data);
  if (status != REDIS_OK) {
    // hiredis frees the context right after this: cleanup() reports it.
    if (context->errstr != nullptr)
      self->open_error_ = context->errstr;
    return;
  }
  if (self->owner_ != nullptr && !self->closing_)
    self->owner_->link_connected(*self);
}

void link::on_reply(redisAsyncContext*, void* reply, void* data) {
  auto* self = static_cast<link*>(data);
  if (self->pending_.empty())
    return; // hiredis 0.14 can replay a callback; see redis.hpp
  auto fn = std::move(self->pending_.front().fn);
  self->pending_.pop_front();
  error_code ec;
  if (reply == nullptr)
    ec = self->reason_ ? self->reason_ : make_error_code(error::connection_lost);
  fn(ec, static_cast<const redisReply*>(reply));
}

void link::on_pubsub(redisAsyncContext*, void* reply, void* data) {
  auto* self = static_cast<link*>(data);
  if (self->owner_ != nullptr)
    self->owner_->link_pubsub(*self, static_cast<const redisReply*>(reply));
}

} // namespace parley::bus::redis::detail
