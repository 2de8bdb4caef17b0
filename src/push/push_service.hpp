#pragma once
// Web Push for new messages (API.md "Notifications"): the subscriptions, the VAPID key that
// every node shares, and the sends.
//
// When a message commits, chat hands it here on the writer thread (message_committed: a
// queue push, never a wait), unless every recipient is connected here or known to have no
// subscription (may_push; subscriber_cache). The outbound thread then learns who of the
// recipients has a subscription (from the cache, or a read of their subscriptions, mute and
// preview settings), asks who of those has no connected socket (on any node: with several
// nodes a Redis query), reads their subscriptions if not read yet, encrypts one body per
// subscription (RFC 8291) and POSTs it with a VAPID token (RFC 8292, cached per push service
// for hours). Each push service origin gets at most `options::per_origin` requests at once; a
// slow or hanging one delays only its own queue, never a message's delivery. 201 is done;
// 404/410 drop the subscription; 429, 5xx and transport failures are retried with backoff,
// never before `Retry-After`, until the TTL passes; anything else is counted and logged.
//
// Guarantee: at most once. Only the node that committed a message pushes it, from memory: a
// push lost in a crash is not resent (the message is durable and arrives with the next sync).
//
// Thread-safety: every member may be called from any thread.

#include "push/crypto.hpp"
#include "push/subscriber_cache.hpp"
#include "store/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace parley {
class clock;
}

namespace parley::push {

struct options {
  std::string subject;                    ///< VAPID `sub`: "mailto:…" or "https://…".
  bool allow_insecure_endpoints = false;  ///< Also http://127.0.0.1:PORT endpoints (tests).
  std::size_t max_subscriptions = 20;     ///< Per user.
  std::chrono::seconds ttl{86400};        ///< The `TTL` header, and how long retries go on.
  std::chrono::milliseconds timeout{10'000}; ///< One request, resolve to last byte.
  std::size_t queue_limit = 10'000;       ///< Messages waiting to be planned + pushes waiting or in flight.
  std::size_t per_origin = 8;             ///< Requests at once to one push service.
  double user_rate = 1;                   ///< Pushes per user per second…
  double user_burst = 30;                 ///< …in bursts of this many (0 rate: no limit).
  std::chrono::milliseconds first_backoff{1'000};
  std::chrono::milliseconds max_backoff{300'000};
  std::size_t pad_to = 1024;              ///< Plaintext bucket, so lengths tell little.
  /// How long a read's word on who has a subscription is trusted (subscriber_cache).
  std::chrono::milliseconds subscribers_known_for{300'000};
};

/// What /metrics shows.
struct statistics {
  std::uint64_t sent = 0;                  ///< Answered 2xx.
  std::map<std::string, std::uint64_t> failed; ///< Final failures by status ("410", "timeout"…).
  std::uint64_t retried = 0;
  std::uint64_t subscriptions_dropped = 0; ///< On 404/410.
  std::uint64_t skipped = 0;               ///< Pushes over a user's rate or the queue limit.
  std::uint64_t messages_dropped = 0;      ///< Messages not planned at all: the queue was full.
  std::uint64_t queue_depth = 0;           ///< Waiting or in flight now.
};

enum class subscribed { created, existing };

/// A new message as chat commits it: what a push needs, copied on the writer thread.
struct new_message {
  store::id conversation_id = 0;
  store::id message_id = 0;
  store::id sender_id = 0;
  std::string body;
  int attachment_count = 0;
  std::vector<store::id> recipients; ///< Every member but the sender.
};

/// Who of `users` has a connected socket (on any node), in order.
using online_check =
    std::function<boost::asio::awaitable<std::vector<bool>>(const std::vector<store::id>&)>;

class push_service {
public:
  /// Loads the VAPID key from the store, or makes and keeps one (the first node to start
  /// wins; every node then uses that one). Blocks on the store: call before serving.
  /// `outbound` runs the sends; `tls` verifies push services (shared, configured).
  push_service(options settings, store::database& database, const parley::clock& clock,
               boost::asio::any_io_executor outbound,
               std::shared_ptr<boost::asio::ssl::context> tls, online_check online);
  ~push_service();
  push_service(const push_service&) = delete;
  push_service& operator=(const push_service&) = delete;

  /// The VAPID public key, base64url (65 bytes uncompressed).
  [[nodiscard]] std::string public_key() const;

  /// Stores a subscription for `user`'s `session` (it goes when the session logs out). An
  /// endpoint another user holds moves to this one. Errors are sentences for a 400.
  boost::asio::awaitable<std::expected<subscribed, std::string>>
  subscribe(store::id user, store::id session, std::string endpoint, std::string p256dh,
            std::string auth);
  /// False when `user` has no subscription with that endpoint.
  boost::asio::awaitable<bool> unsubscribe(store::id user, std::string endpoint);

  /// Called by chat on the writer thread right after a new message committed. Never blocks.
  void message_committed(new_message message);
  /// False when no recipient can need a push: each is known to have no subscription (a cheap
  /// check, for the writer thread, before message_committed).
  [[nodiscard]] bool may_push(const std::vector<store::id>& recipients) const;

  /// Set before serving: told of every subscription stored here, to tell the other nodes.
  void announce_subscriptions(std::function<void(store::id user)> announce);
  /// `user` subscribed on some node (this one included); nullopt: subscriptions may have been
  /// made that this node did not hear of (the bus may have lost words).
  void subscriptions_changed(std::optional<store::id> user);

  [[nodiscard]] statistics stats() const;

  struct state; ///< Shared with the coroutines in flight.

private:
  std::shared_ptr<state> state_;
};

/// The plaintext of one push (API.md): {"conversation_id","message_id","title","body"?}, with
/// `body` the sender's name and the first 200 characters of the text (or a word for an
/// attachment) when `previews`; fewer characters when those do not fit in one push
/// (max_plaintext_size bytes).
[[nodiscard]] std::string payload(store::id conversation_id, store::id message_id,
                                  std::string_view title, bool previews,
                                  std::string_view sender_name, std::string_view text,
                                  int attachment_count);

} // namespace parley::push
