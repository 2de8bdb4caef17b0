// redis::subscriber: the wanted channels and patterns on one connection in subscribed mode,
// re-subscribed after every reconnection, with a SUBSCRIBE-based liveness probe.
//
// Why not PING: hiredis 0.14 queues a command sent in subscribed mode on `sub.invalid`, but
// routes an array reply by its first element; Redis answers PING there with
// ["pong", ""], which hiredis takes for a pattern ('p') reply, finds no pattern "" and
// hands to whatever callback ran last (or none), never popping `sub.invalid` (which then
// grows by one entry per PING until the connection goes). A SUBSCRIBE of a channel we are
// already subscribed to, though, is answered by Redis with a fresh confirmation, which
// hiredis routes properly (it counts pending confirmations per channel).

#include "bus/redis.hpp"
#include "bus/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <random>
#include <set>

namespace parley::bus::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

namespace {

constexpr std::size_t names_per_command = 256;

std::string random_probe_channel() {
  std::random_device random;
  return fmt::format("parley:bus:probe:{:08x}{:08x}", random(), random());
}

std::string_view text(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS))
    return {};
  return {r->str, r->len};
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(
      a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

} // namespace

class subscriber_impl final : public connection_base {
public:
  subscriber_impl(asio::any_io_executor executor, endpoint where, options opts)
      : connection_base(std::move(executor), std::move(where), std::move(opts), "subscriber"),
        probe_(random_probe_channel()) {}

  std::function<void(const message&)> on_message;
  std::function<void()> on_ready;

  void change(bool pattern, bool add, const std::string& name) {
    if (name.empty())
      return;
    auto& wanted = pattern ? patterns_ : channels_;
    if (add ? !wanted.insert(name).second : wanted.erase(name) == 0)
      return;
    // Before the first batch is sent the batch will carry it; after, send it now.
    if (!sent_initial_ || current() == nullptr)
      return;
    std::string verb = std::string(pattern ? "p" : "") + (add ? "subscribe" : "unsubscribe");
    send(verb, {name}, false, opts_.command_timeout);
  }

  [[nodiscard]] std::vector<std::string> channels() const {
    return {channels_.begin(), channels_.end()};
  }
  [[nodiscard]] const std::string& probe() const { return probe_; }

private:
  struct expectation {
    std::string verb; // lower case: subscribe, unsubscribe, psubscribe, punsubscribe
    std::string name;
    clock::time_point deadline;
    bool initial; // part of the batch sent after connecting
  };

  void send(const std::string& verb, const std::vector<std::string>& names, bool initial,
            std::chrono::milliseconds timeout) {
    link* l = current();
    if (l == nullptr)
      return;
    auto deadline = clock::now() + timeout;
    for (std::size_t at = 0; at < names.size(); at += names_per_command) {
      std::vector<std::string> args{verb};
      auto end = std::min(names.size(), at + names_per_command);
      args.insert(args.end(), names.begin() + static_cast<std::ptrdiff_t>(at),
                  names.begin() + static_cast<std::ptrdiff_t>(end));
      if (!l->pubsub_command(args))
        return; // closing: link_closed follows
      for (std::size_t i = at; i < end; ++i)
        expected_.push_back({verb, names[i], deadline, initial});
    }
    watch_deadline(deadline);
  }

  void begin_handshake(link& l) override {
    // AUTH must be answered before the first SUBSCRIBE: hiredis 0.14 misroutes an error
    // reply that arrives in subscribed mode.
    send_auth_and_select(l, false, [this, lp = &l] {
      if (is_current(lp))
        send_initial();
    });
  }

  void send_initial() {
    sent_initial_ = true;
    std::vector<std::string> channels{probe_};
    channels.insert(channels.end(), channels_.begin(), channels_.end());
    send("subscribe", channels, true, opts_.command_timeout);
    if (!patterns_.empty())
      send("psubscribe", std::vector<std::string>(patterns_.begin(), patterns_.end()), true,
           opts_.command_timeout);
    initial_left_ = std::ranges::count_if(expected_, [](auto& e) { return e.initial; });
  }

  void send_probe(link&) override {
    if (probe_outstanding_)
      return;
    probe_outstanding_ = true;
    send("subscribe", {probe_}, false, opts_.ping_timeout);
  }

  void became_ready() override {
    if (on_ready) {
      auto keep = shared_from_this();
      on_ready();
    }
  }

  void link_down(error_code) override {
    expected_.clear();
    initial_left_ = 0;
    sent_initial_ = false;
    probe_outstanding_ = false;
  }

  [[nodiscard]] std::optional<clock::time_point> earliest_deadline() const override {
    auto earliest = connection_base::earliest_deadline();
    for (const auto& e : expected_)
      if (!earliest || e.deadline < *earliest)
        earliest = e.deadline;
    return earliest;
  }

  void link_pubsub(link& l, const redisReply* r) override {
    if (r == nullptr || !is_current(&l))
      return; // the context is being freed
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
      return; // e.g. a misrouted reply
    auto kind = text(r->element[0]);
    if (iequals(kind, "message")) {
      auto channel = text(r->element[1]);
      if (channel == probe_ || !channels_.contains(channel))
        return;
      deliver({{}, channel, text(r->element[2])});
    } else if (iequals(kind, "pmessage")) {
      if (r->elements < 4)
        return;
      auto pattern = text(r->element[1]);
      if (!patterns_.contains(pattern))
        return;
      deliver({pattern, text(r->element[2]), text(r->element[3])});
    } else if (iequals(kind, "subscribe") || iequals(kind, "unsubscribe") ||
               iequals(kind, "psubscribe") || iequals(kind, "punsubscribe")) {
      confirmed(kind, text(r->element[1]));
    } // anything else ("pong"...) is not ours
  }

  void deliver(const message& m) {
    if (!on_message)
      return;
    auto keep = shared_from_this();
    on_message(m);
  }

  void confirmed(std::string_view verb, std::string_view name) {
    if (expected_.empty() || !iequals(expected_.front().verb, verb) ||
        expected_.front().name != name) {
      fail(error::protocol_error, fmt::format("unexpected {} {} confirmation", verb, name));
      return;
    }
    bool initial = expected_.front().initial;
    bool probe = !initial && name == probe_ && verb == "subscribe";
    expected_.pop_front();
    if (probe)
      probe_outstanding_ = false;
    if (initial && initial_left_ > 0 && --initial_left_ == 0)
      mark_ready();
  }

  std::set<std::string, std::less<>> channels_;
  std::set<std::string, std::less<>> patterns_;
  std::string probe_;
  std::deque<expectation> expected_;
  std::ptrdiff_t initial_left_ = 0;
  bool sent_initial_ = false;
  bool probe_outstanding_ = false;
};

} // namespace detail

subscriber::subscriber(executor_type executor, endpoint where, options opts)
    : impl_(std::make_shared<detail::subscriber_impl>(std::move(executor), std::move(where),
                                                      std::move(opts))) {}

subscriber::~subscriber() {
  impl_->stop();
}

void subscriber::on_message(std::function<void(const message&)> callback) {
  impl_->on_message = std::move(callback);
}
void subscriber::on_ready(std::function<void()> callback) {
  impl_->on_ready = std::move(callback);
}
void subscriber::on_disconnected(std::function<void(error_code)> callback) {
  impl_->on_disconnected = std::move(callback);
}

void subscriber::start() {
  impl_->start();
}
void subscriber::stop() {
  impl_->stop();
}
void subscriber::subscribe(const std::string& channel) {
  impl_->change(false, true, channel);
}
void subscriber::unsubscribe(const std::string& channel) {
  impl_->change(false, false, channel);
}
void subscriber::psubscribe(const std::string& pattern) {
  impl_->change(true, true, pattern);
}
void subscriber::punsubscribe(const std::string& pattern) {
  impl_->change(true, false, pattern);
}
bool subscriber::ready() const {
  return impl_->is_ready();
}
std::vector<std::string> subscriber::channels() const {
  return impl_->channels();
}
const std::string& subscriber::probe_channel() const {
  return impl_->probe();
}

} // namespace parley::bus::redis
