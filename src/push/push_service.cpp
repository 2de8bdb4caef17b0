#include "push/push_service.hpp"

#include "chat/emoji.hpp"
#include "chat/rate.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "net/http_client.hpp"
#include "push/subscription.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>

#include <spdlog/spdlog.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace parley::push {

namespace asio = boost::asio;
using store::id;

namespace {

constexpr std::string_view k_vapid_secret = "vapid_p256_private_key";
constexpr std::size_t k_preview_characters = 200;

// One encrypted push on its way to one subscription.
struct outgoing {
  id subscription_id = 0;
  std::string origin_key; // the audience: one queue and one client per push service
  endpoint where;
  std::string topic;
  bool urgent = false;
  bytes body;
  std::chrono::steady_clock::time_point give_up_at;
  std::chrono::milliseconds next_backoff{0};
};

// What planning one message reads: who to push to, and whether it is a group.
struct planned {
  std::vector<store::push_target> targets;
  bool group = false;
};

// The seconds of a Retry-After header (delta-seconds only; an HTTP date counts as absent).
std::optional<std::chrono::seconds> retry_after(std::string_view value) {
  long long seconds = 0;
  const auto* end = value.data() + value.size();
  const auto [rest, error] = std::from_chars(value.data(), end, seconds);
  if (error != std::errc() || rest != end || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::min<long long>(seconds, 86400));
}

ec_key load_vapid_key(store::database& database) {
  const ec_key fresh = ec_key::generate();
  const bytes candidate = fresh.private_bytes();
  // Several nodes may start at once on a new database: all take the first one's key, so that
  // a subscription made through one node is pushed to by every node.
  const auto keep = [&candidate](store::write_transaction& transaction) {
    auto kept = transaction.keep_server_secret(k_vapid_secret, candidate);
    if (!ec_key::from_private(kept)) { // damaged: replaced (subscriptions must be renewed)
      transaction.put_server_secret(k_vapid_secret, candidate);
      kept = candidate;
    }
    return kept;
  };
  const bytes kept = store::blocking_write(database, keep);
  auto key = ec_key::from_private(kept);
  if (!key) {
    throw std::runtime_error("the stored VAPID key is not a P-256 private key");
  }
  return std::move(*key);
}

} // namespace

struct push_service::state : std::enable_shared_from_this<state> {
  state(options settings, store::database& database, const parley::clock& clock,
        asio::any_io_executor outbound, std::shared_ptr<asio::ssl::context> tls,
        online_check online)
      : settings(std::move(settings)), database(database), clock(clock),
        strand(asio::make_strand(outbound)), tls(std::move(tls)), online(std::move(online)),
        signer(load_vapid_key(database), this->settings.subject),
        user_limits(this->settings.user_rate, this->settings.user_burst),
        subscribers(this->settings.subscribers_known_for, 1'000'000) {}

  options settings;
  store::database& database;
  const parley::clock& clock;
  asio::strand<asio::any_io_executor> strand; // everything below the mutex runs here
  std::shared_ptr<asio::ssl::context> tls;
  online_check online;
  vapid_signer signer;
  chat::token_buckets user_limits;
  subscriber_cache subscribers;
  std::function<void(id)> announce; // set before serving

  mutable std::mutex mutex; // guards the statistics, `depth`, `pending` and `planners`
  statistics counted;
  std::uint64_t depth = 0;
  // Messages whose pushes are not planned yet, and the planners taking them in turn: enough
  // to hide the reads' latency, few enough that the strand never holds more than a few dozen
  // plans' work ahead of the sends' next steps (an unbounded backlog of plans queued on the
  // strand starved the sends that drain it: fewer pushes went out the more were owed).
  std::deque<new_message> pending;
  std::size_t planners = 0;
  static constexpr std::size_t max_planners = 32;

  // Strand-only: per push service, its client, requests in flight and those waiting.
  struct origin_queue {
    std::unique_ptr<net::http_client> client;
    std::size_t active = 0;
    std::deque<outgoing> waiting;
  };
  std::unordered_map<std::string, origin_queue> origins;

  bool admit() {
    const std::scoped_lock lock(mutex);
    if (depth >= settings.queue_limit) {
      ++counted.skipped;
      return false;
    }
    ++depth;
    return true;
  }
  void finished(std::string_view failure = {}) {
    const std::scoped_lock lock(mutex);
    --depth;
    if (failure.empty()) {
      ++counted.sent;
    } else {
      ++counted.failed[std::string(failure)];
    }
  }

  asio::awaitable<void> plan(new_message message);
  asio::awaitable<void> run_planner();
  void enqueue(outgoing push);
  void start_next(origin_queue& queue);
  asio::awaitable<void> send(outgoing push);
};

asio::awaitable<void> push_service::state::plan(new_message message) {
  const id conversation = message.conversation_id;
  const id sender = message.sender_id;
  // The kind, not the member count, says whether it is a group: a group may be down to two.
  auto read_targets = [conversation, sender](store::read_transaction& transaction) {
    planned out;
    const auto row = transaction.conversation(conversation);
    out.group = row && row->kind == store::conversation_kind::group;
    out.targets = transaction.push_targets(conversation, sender);
    return out;
  };
  // Who could need a push: those with a subscription (read with the targets when some
  // recipient's is not known), then of those, who has no connected socket anywhere.
  std::optional<planned> read;
  auto known = subscribers.subscribed_among(message.recipients, clock.now_ms());
  std::vector<id> candidates;
  if (known) {
    candidates = std::move(*known);
  } else {
    const auto generation = subscribers.generation();
    read = co_await database.read(read_targets);
    std::vector<id> subscribed; // ascending, each once
    for (const auto& target : read->targets) {
      subscribed.push_back(target.subscription.user_id);
    }
    std::ranges::sort(subscribed);
    subscribed.erase(std::ranges::unique(subscribed).begin(), subscribed.end());
    subscribers.learn(message.recipients, subscribed, generation, clock.now_ms());
    std::ranges::copy_if(message.recipients, std::back_inserter(candidates),
                         [&](id user) { return std::ranges::binary_search(subscribed, user); });
  }
  if (candidates.empty()) {
    co_return;
  }
  const auto connected = co_await online(candidates);
  std::vector<id> offline;
  for (std::size_t index = 0; index < candidates.size(); ++index) {
    if (index >= connected.size() || !connected[index]) {
      offline.push_back(candidates[index]);
    }
  }
  if (offline.empty()) {
    co_return;
  }
  if (!read) {
    read = co_await database.read(read_targets);
  }
  const auto& [targets, group] = *read;
  const unix_ms now = clock.now_ms();
  const std::string topic_key = fmt::format("conversation-{}", conversation);
  // One decision per user (offline, not muted, within the rate), whatever their number of
  // subscriptions: so the per-user limit also bounds what each endpoint receives.
  std::unordered_map<id, bool> pushed_to;
  for (const auto& target : targets) {
    const id user = target.subscription.user_id;
    auto [decision, first] = pushed_to.try_emplace(user, false);
    if (first) {
      const bool muted = target.muted_until && *target.muted_until > now;
      decision->second = std::ranges::find(offline, user) != offline.end() && !muted;
      if (decision->second && user_limits.take(user, now)) {
        const std::scoped_lock lock(mutex);
        ++counted.skipped;
        decision->second = false;
      }
    }
    if (!decision->second) {
      continue;
    }
    auto where = parse_endpoint(target.subscription.endpoint, settings.allow_insecure_endpoints);
    if (!where) {
      continue; // stored before a rule changed; it will be refused at the next subscribe
    }
    if (!admit()) { // before any encryption: a push over the limit costs nothing
      continue;
    }
    const std::string plaintext =
        payload(conversation, message.message_id, target.title, target.previews,
                target.sender_name, message.body, message.attachment_count);
    encrypt_options padding;
    padding.pad_to = std::max(settings.pad_to, plaintext.size() + 1);
    padding.pad_to = std::min(padding.pad_to, max_padded_size);
    auto body = encrypt(std::span(reinterpret_cast<const unsigned char*>(plaintext.data()),
                                  plaintext.size()),
                        target.subscription.p256dh, target.subscription.auth, padding);
    if (!body) {
      spdlog::warn("push: subscription {}: {}", target.subscription.subscription_id, body.error());
      finished("encryption");
      continue;
    }
    outgoing push;
    push.subscription_id = target.subscription.subscription_id;
    push.origin_key = where->audience;
    push.where = std::move(*where);
    push.topic = topic(topic_key);
    push.urgent = !group;
    push.body = std::move(*body);
    push.give_up_at = std::chrono::steady_clock::now() + settings.ttl;
    push.next_backoff = settings.first_backoff;
    enqueue(std::move(push));
  }
}

void push_service::state::enqueue(outgoing push) {
  auto& queue = origins[push.origin_key];
  if (!queue.client) {
    queue.client = std::make_unique<net::http_client>(
        push.where.origin, strand, settings.timeout, tls,
        send_filter(settings.allow_insecure_endpoints));
  }
  queue.waiting.push_back(std::move(push));
  start_next(queue);
}

void push_service::state::start_next(origin_queue& queue) {
  while (queue.active < settings.per_origin && !queue.waiting.empty()) {
    ++queue.active;
    asio::co_spawn(strand, send(std::move(queue.waiting.front())), asio::detached);
    queue.waiting.pop_front();
  }
}

asio::awaitable<void> push_service::state::send(outgoing push) {
  auto self = shared_from_this();
  const auto now_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::milliseconds(clock.now_ms()))
                               .count();
  // Rounded up, so that the first attempt says the whole TTL (86400, not 86399).
  const auto remaining = std::chrono::ceil<std::chrono::seconds>(
      push.give_up_at - std::chrono::steady_clock::now());
  net::outgoing_request request;
  request.target = push.where.target;
  request.headers = {
      {"TTL", std::to_string(std::max<std::int64_t>(remaining.count(), 0))},
      {"Urgency", push.urgent ? "high" : "normal"},
      {"Topic", push.topic},
      {"Content-Type", "application/octet-stream"},
      {"Content-Encoding", "aes128gcm"},
      {"Authorization", signer.authorization(push.where.audience, now_seconds)},
  };
  request.body.assign(push.body.begin(), push.body.end());
  auto& queue = origins[push.origin_key];
  const auto answer = co_await queue.client->post(std::move(request));

  std::string failure;
  bool dropped = false;
  std::optional<std::chrono::milliseconds> wait;
  if (answer && answer->status >= 200 && answer->status < 300) {
    // sent
  } else if (answer && (answer->status == 404 || answer->status == 410)) {
    failure = std::to_string(answer->status);
    const id subscription = push.subscription_id;
    auto drop = [subscription](store::write_transaction& transaction) {
      transaction.drop_push_subscription(subscription);
      return true;
    };
    try {
      co_await database.write(drop);
      dropped = true;
      const std::scoped_lock lock(mutex);
      ++counted.subscriptions_dropped;
    } catch (const std::exception& error) {
      spdlog::warn("push: could not drop subscription {}: {}", subscription, error.what());
    }
  } else if (!answer || answer->status == 429 || answer->status >= 500) {
    failure = answer ? std::to_string(answer->status)
                     : std::string(answer.error().what == net::transport_error::kind::timeout
                                       ? "timeout"
                                       : answer.error().what == net::transport_error::kind::refused
                                             ? "refused"
                                             : "network");
    if (answer || answer.error().what != net::transport_error::kind::refused) {
      wait = push.next_backoff;
      if (answer) {
        if (const auto after = retry_after(answer->header("Retry-After"))) {
          wait = std::max<std::chrono::milliseconds>(*wait, *after);
        }
      }
    }
    if (!answer) {
      spdlog::info("push: subscription {}: {}", push.subscription_id, answer.error().detail);
    }
  } else {
    failure = std::to_string(answer->status);
    spdlog::warn("push: subscription {}: the push service answered {}: {}", push.subscription_id,
                 answer->status, answer->body.substr(0, 200));
  }

  --queue.active;
  if (wait && std::chrono::steady_clock::now() + *wait < push.give_up_at) {
    {
      const std::scoped_lock lock(mutex);
      ++counted.retried;
    }
    push.next_backoff = std::min(push.next_backoff * 2, settings.max_backoff);
    start_next(queue);
    asio::steady_timer timer(strand);
    timer.expires_after(*wait);
    co_await timer.async_wait(asio::use_awaitable);
    auto& again = origins[push.origin_key];
    again.waiting.push_front(std::move(push));
    start_next(again);
    co_return;
  }
  finished(failure);
  if (dropped) { // after it is gone from the store and counted
    spdlog::info("push.subscription_dropped subscription={} status={}", push.subscription_id,
                 failure);
  }
  start_next(queue);
}

push_service::push_service(options settings, store::database& database,
                           const parley::clock& clock, asio::any_io_executor outbound,
                           std::shared_ptr<asio::ssl::context> tls, online_check online)
    : state_(std::make_shared<state>(std::move(settings), database, clock, std::move(outbound),
                                     std::move(tls), std::move(online))) {}

push_service::~push_service() = default;

std::string push_service::public_key() const { return base64url(state_->signer.public_key()); }

asio::awaitable<std::expected<subscribed, std::string>>
push_service::subscribe(id user, id session, std::string endpoint_url, std::string p256dh,
                        std::string auth) {
  const auto where = parse_endpoint(endpoint_url, state_->settings.allow_insecure_endpoints);
  if (!where) {
    co_return std::unexpected(where.error());
  }
  auto keys = parse_keys(p256dh, auth);
  if (!keys) {
    co_return std::unexpected(keys.error());
  }
  const unix_ms now = state_->clock.now_ms();
  const std::size_t limit = state_->settings.max_subscriptions;
  auto put = [&](store::write_transaction& transaction) {
    return transaction.put_push_subscription(user, session, endpoint_url, keys->p256dh,
                                             keys->auth, now, limit);
  };
  const auto outcome = co_await state_->database.write(put);
  if (outcome != store::subscription_outcome::too_many) {
    // Before the answer: a message sent once the client knows it is subscribed finds it here,
    // and on the other nodes as soon as the bus carries the word. (In the server the
    // announcement also comes back to this node and forgets the user once more, harmlessly;
    // forgetting here keeps the service right without that wiring.)
    state_->subscribers.forget(user);
    if (state_->announce) {
      state_->announce(user);
    }
  }
  switch (outcome) {
  case store::subscription_outcome::created:
    co_return subscribed::created;
  case store::subscription_outcome::existing:
    co_return subscribed::existing;
  case store::subscription_outcome::too_many:
    break;
  }
  co_return std::unexpected(
      fmt::format("You have {} push subscriptions already: remove one first.", limit));
}

asio::awaitable<bool> push_service::unsubscribe(id user, std::string endpoint_url) {
  auto remove = [user, &endpoint_url](store::write_transaction& transaction) {
    return transaction.delete_push_subscription(user, endpoint_url);
  };
  co_return co_await state_->database.write(remove);
}

asio::awaitable<void> push_service::state::run_planner() {
  for (;;) {
    new_message next;
    {
      const std::scoped_lock lock(mutex);
      if (pending.empty()) {
        --planners;
        co_return;
      }
      next = std::move(pending.front());
      pending.pop_front();
    }
    const id message_id = next.message_id;
    try {
      co_await plan(std::move(next));
    } catch (const std::exception& error) {
      spdlog::warn("push: message {}: {}", message_id, error.what());
    }
    // Between two plans, the sends' ready steps run first.
    co_await asio::post(strand, asio::use_awaitable);
  }
}

void push_service::message_committed(new_message message) {
  if (message.recipients.empty()) {
    return;
  }
  {
    // A flood of messages waits here, bounded with the pushes queued: beyond, it is dropped
    // before anything is read or encrypted for it.
    const std::scoped_lock lock(state_->mutex);
    if (state_->pending.size() + state_->depth >= state_->settings.queue_limit) {
      ++state_->counted.messages_dropped;
      return;
    }
    state_->pending.push_back(std::move(message));
    if (state_->planners >= state::max_planners) {
      return; // a running planner will take it
    }
    ++state_->planners;
  }
  asio::co_spawn(
      state_->strand, [self = state_] { return self->run_planner(); }, asio::detached);
}

bool push_service::may_push(const std::vector<id>& recipients) const {
  return !state_->subscribers.none_subscribed(recipients, state_->clock.now_ms());
}

void push_service::announce_subscriptions(std::function<void(id user)> announce) {
  state_->announce = std::move(announce);
}

void push_service::subscriptions_changed(std::optional<id> user) {
  if (user) {
    state_->subscribers.forget(*user);
  } else {
    state_->subscribers.forget_all();
  }
}

statistics push_service::stats() const {
  const std::scoped_lock lock(state_->mutex);
  statistics copy = state_->counted;
  copy.queue_depth = state_->depth;
  return copy;
}

std::string payload(id conversation_id, id message_id, std::string_view title, bool previews,
                    std::string_view sender_name, std::string_view text, int attachment_count) {
  boost::json::object out;
  out["conversation_id"] = conversation_id;
  out["message_id"] = message_id;
  out["title"] = title;
  if (!previews) {
    return boost::json::serialize(out);
  }
  const auto with_preview = [&](std::size_t characters) {
    std::string shown = chat::first_characters(text, characters);
    if (shown.empty() && text.empty()) {
      shown = attachment_count == 1 ? "Attachment" : fmt::format("{} attachments", attachment_count);
    }
    out["body"] = fmt::format("{}: {}", sender_name, shown);
    return boost::json::serialize(out);
  };
  std::string serialized = with_preview(k_preview_characters);
  if (serialized.size() <= max_plaintext_size) {
    return serialized;
  }
  // A push carries at most max_plaintext_size bytes, and 200 characters may be more (one emoji
  // sequence can take 25 bytes or more): then as many whole characters as fit.
  std::size_t fits = 0;
  std::size_t too_many = k_preview_characters;
  while (too_many - fits > 1) {
    const std::size_t middle = fits + (too_many - fits) / 2;
    if (with_preview(middle).size() <= max_plaintext_size) {
      fits = middle;
    } else {
      too_many = middle;
    }
  }
  return with_preview(fits);
}

} // namespace parley::push
