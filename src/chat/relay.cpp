#include "chat/relay.hpp"

#include "chat/json.hpp"
#include "common/post_batch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <utility>

namespace parley::chat {
namespace {

using store::id;
namespace json = boost::json;

// -- the payload: one JSON object, the pre-rendered JSON texts nested as they are --------------

void put_ids(std::string& out, std::string_view key, const std::vector<id>& ids) {
  out += fmt::format(",\"{}\":[{}]", key, fmt::join(ids, ","));
}

std::vector<id> ids_of(const json::object& object, std::string_view key) {
  std::vector<id> ids;
  if (const auto* found = object.if_contains(key); found != nullptr) {
    for (const auto& value : found->as_array()) {
      ids.push_back(value.as_int64());
    }
  }
  return ids;
}

std::string text_of(const json::object& object, std::string_view key) {
  const auto* found = object.if_contains(key);
  return found == nullptr ? std::string() : json::serialize(*found);
}

id id_of(const json::object& object, std::string_view key) {
  const auto* found = object.if_contains(key);
  return found == nullptr ? 0 : found->as_int64();
}

// What a read of the missed changes found: each as a delivery, in log order.
struct missed {
  id last_seq = -1; ///< -1: the conversation is gone.
  std::vector<delivery> changes;
};

constexpr int k_page = 500;

// Reads a conversation's changes after `after`, rendered: messages sent since as `message`,
// those changed since as `message:updated`, then each member's view (for those with a socket
// on this node, the only ones this node delivers to).
struct missed_job {
  id conversation;
  id after;
  const socketio::hub* hub;

  missed operator()(store::read_transaction& transaction) const {
    missed result;
    // The conversation, its members and each one's view, read once (one snapshot with the
    // changes below).
    const auto every = transaction.views_of_members(conversation);
    if (!every) {
      return result;
    }
    result.last_seq = every->shared.conversation.last_seq;
    const auto members = every->member_ids();
    for (id cursor = after;;) {
      const auto page = transaction.changes_after(conversation, cursor, 0, k_page);
      for (const auto& message : page) {
        delivery change;
        change.conversation = conversation;
        change.members = members;
        if (message.seq > after) {
          change.seq = message.seq; // the change that made it: its socket is left out
          change.created = message_text(message);
          change.message_id = message.message_id;
          change.sender = message.sender_id;
        } else {
          change.seq = message.updated_seq;
          change.updated = message_text(message);
        }
        result.changes.push_back(std::move(change));
        cursor = message.updated_seq;
      }
      if (page.size() < static_cast<std::size_t>(k_page)) {
        break;
      }
    }
    delivery views;
    views.conversation = conversation;
    views.views = render_views(*every, [this](id member) { return hub->is_online(member); });
    result.changes.push_back(std::move(views));
    return result;
  }
};

struct positions_job {
  std::vector<id> users;
  std::vector<store::log_position> operator()(store::read_transaction& transaction) const {
    std::vector<store::log_position> all;
    for (const auto user : users) {
      auto some = transaction.log_positions(user);
      all.insert(all.end(), some.begin(), some.end());
    }
    return all;
  }
};

// The conversations of a user that `keep` accepts, each with its members.
struct members_job {
  id user;
  std::function<bool(id)> keep;
  std::vector<std::pair<id, std::vector<id>>>
  operator()(store::read_transaction& transaction) const {
    std::vector<std::pair<id, std::vector<id>>> found;
    for (const auto& position : transaction.log_positions(user)) {
      if (keep(position.conversation_id)) {
        found.emplace_back(position.conversation_id,
                           transaction.member_ids(position.conversation_id));
      }
    }
    return found;
  }
};

} // namespace

std::string encode(const delivery& change) {
  std::string out = fmt::format("{{\"c\":{},\"s\":{}", change.conversation, change.seq);
  if (!change.created.empty()) {
    out += fmt::format(",\"m\":{},\"mi\":{},\"ms\":{}", change.created, change.message_id,
                       change.sender);
  }
  if (!change.updated.empty()) {
    out += ",\"u\":" + change.updated;
  }
  put_ids(out, "mb", change.members);
  if (const auto& views = change.views.viewers; !views.empty()) {
    // "w" and "vm", not the whole views' "v": a node of an earlier build ignores them (its
    // members miss the event until they next read the conversation) rather than sending
    // objects without members during a rolling upgrade.
    const bool whole = change.views.members.empty();
    out += whole ? ",\"v\":[" : ",\"w\":[";
    for (std::size_t index = 0; index < views.size(); ++index) {
      out += fmt::format("{}[{},{}]", index == 0 ? "" : ",", views[index].first,
                         views[index].second);
    }
    out += "]";
    if (!whole) {
      out += ",\"vm\":" + change.views.members;
    }
  }
  put_ids(out, "r", change.removed);
  if (!change.event.empty()) {
    out += ",\"e\":" + json::serialize(json::string(change.event)) + ",\"a\":" + change.argument;
  }
  put_ids(out, "to", change.users);
  if (change.revoked_session != 0) {
    out += fmt::format(",\"x\":{}", change.revoked_session);
  }
  if (change.push_subscriber != 0) {
    out += fmt::format(",\"p\":{}", change.push_subscriber);
  }
  out += "}";
  return out;
}

std::optional<delivery> decode(std::string_view payload) {
  try {
    const auto value = json::parse(payload);
    const auto& object = value.as_object();
    delivery change;
    change.conversation = id_of(object, "c");
    change.seq = id_of(object, "s");
    change.created = text_of(object, "m");
    change.message_id = id_of(object, "mi");
    change.sender = id_of(object, "ms");
    change.updated = text_of(object, "u");
    change.members = ids_of(object, "mb");
    // Each viewer's own fields and the members they share ("w", "vm"), or, from a node of an
    // earlier build, each viewer's whole object ("v").
    const auto* parts = object.if_contains("w");
    if (const auto* views = parts != nullptr ? parts : object.if_contains("v"); views != nullptr) {
      for (const auto& pair : views->as_array()) {
        const auto& entry = pair.as_array();
        change.views.viewers.emplace_back(entry.at(0).as_int64(), json::serialize(entry.at(1)));
      }
      if (parts != nullptr) {
        change.views.members = json::serialize(object.at("vm").as_array());
      }
    }
    change.removed = ids_of(object, "r");
    if (const auto* event = object.if_contains("e"); event != nullptr) {
      change.event = std::string(event->as_string());
      change.argument = text_of(object, "a");
    }
    change.users = ids_of(object, "to");
    change.revoked_session = id_of(object, "x");
    change.push_subscriber = id_of(object, "p");
    return change;
  } catch (const std::exception& error) {
    spdlog::warn("relay.bad_payload error={}", error.what());
    return std::nullopt;
  }
}

relay::relay(store::database& database, socketio::hub& hub, std::chrono::milliseconds ack_timeout,
             ack_handler on_ack, bus::transport* bus, boost::asio::any_io_executor executor)
    : database_(database), hub_(hub), ack_timeout_(ack_timeout), on_ack_(std::move(on_ack)),
      bus_(bus), executor_(std::move(executor)) {}

void relay::committed(delivery change, const socketio::socket* except) {
  if (bus_ == nullptr) {
    apply(change, except); // one node: commit order is seq order
    return;
  }
  // Sequenced on the relay's thread, with what comes over the bus and what reads of missed
  // changes find. Applied here, a change would be held in the writer's open post_batch (its
  // posts go out when the batch is completed) while a later seq from the bus, applied on the
  // relay's thread meanwhile, is posted at once: a socket would get 29 before 28.
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = outbox_.empty();
    outbox_.push_back(pending{std::move(change), except});
  }
  if (first) {
    // Through the writer's batch: one hand-off for all the changes of a group commit.
    common::post_batch::post(executor_, [this] { send_committed(); });
  }
}

void relay::send_committed() {
  // The deliveries to each I/O thread in one post, handed over before anything else runs here.
  const common::post_batch batch;
  std::lock_guard lock(mutex_);
  for (auto& [change, except] : std::exchange(outbox_, {})) {
    auto payload = encode(change);
    accept(std::move(change), except);
    ++counters_.published;
    bus_->publish(std::move(payload));
  }
}

void relay::broadcast(delivery event, const socketio::socket* except) {
  apply(event, except);
  if (bus_ != nullptr) {
    bus_->publish(encode(event));
    std::lock_guard lock(mutex_);
    ++counters_.published;
  }
}

void relay::received(std::string_view payload) {
  auto change = decode(payload);
  if (!change) {
    return;
  }
  spdlog::debug("relay.received conversation={} seq={} event={}", change->conversation, change->seq,
                change->event);
  std::lock_guard lock(mutex_);
  ++counters_.received;
  if (change->seq == 0) {
    apply(*change, nullptr);
  } else {
    accept(std::move(*change), nullptr);
  }
}

bool relay::concerns_this_node(const delivery& change) const {
  return hub_.any_online(change.members) || hub_.any_online(change.removed) ||
         std::ranges::any_of(change.views.viewers,
                             [this](const auto& view) { return hub_.is_online(view.first); });
}

void relay::accept(delivery change, const socketio::socket* except) {
  const id conversation = change.conversation;
  auto& state = tracks_[conversation];
  const id seq = change.seq;
  if (seq <= state.delivered && state.from_arrival && !state.reading) {
    // Committed before a user's arrival here read the database, published after: the arriving
    // client's sync brings it, but the members already here (a group just made elsewhere)
    // have had nothing of it. Nothing of the conversation was applied here since, so it can
    // still go out in order: read it all again from just before it.
    state.from_arrival = false;
    state.delivered = seq - 1;
    state.waiting.emplace(seq, pending{std::move(change), except}); // the read keeps `except`
    read_missed(conversation, state.delivered);
    return;
  }
  if (seq <= state.delivered) {
    ++counters_.late;
    return; // delivered already (a late publish, or covered by a read of what was missed)
  }
  if (state.reading || (state.delivered >= 0 && seq != state.delivered + 1)) {
    state.waiting.emplace(seq, pending{std::move(change), except});
    if (!state.reading) {
      if (concerns_this_node(state.waiting.begin()->second.change)) {
        read_missed(conversation, state.delivered);
      } else {
        // Nobody here to deliver the missing changes to: skip ahead.
        state.delivered = state.waiting.begin()->first - 1;
        release(state);
        forget_if_nobody_here(conversation);
      }
    }
    return;
  }
  state.delivered = seq; // the next one, or the first this node sees of the conversation
  state.from_arrival = false;
  apply_tracked(state, change, except);
  release(state);
  forget_if_nobody_here(conversation);
}

void relay::release(track& state) {
  while (!state.reading && !state.waiting.empty()) {
    auto first = state.waiting.begin();
    if (first->first <= state.delivered) {
      ++counters_.late;
      state.waiting.erase(first);
      continue;
    }
    if (first->first != state.delivered + 1) {
      read_missed(first->second.change.conversation, state.delivered);
      return;
    }
    state.delivered = first->first;
    state.from_arrival = false;
    apply_tracked(state, first->second.change, first->second.except);
    state.waiting.erase(first);
  }
}

void relay::apply_tracked(track& state, const delivery& change, const socketio::socket* except) {
  state.here = concerns_this_node(change);
  apply(change, except);
}

void relay::forget_if_nobody_here(id conversation) {
  const auto found = tracks_.find(conversation);
  if (found == tracks_.end()) {
    return;
  }
  const auto& state = found->second;
  if (!state.here && !state.reading && !state.from_arrival && state.waiting.empty()) {
    tracks_.erase(found);
  }
}

void relay::read_missed(id conversation, id after) {
  tracks_[conversation].reading = true;
  ++counters_.gaps;
  spdlog::debug("relay.gap conversation={} after={}", conversation, after);
  boost::asio::co_spawn(executor_, fill(conversation, after), boost::asio::detached);
}

boost::asio::awaitable<void> relay::fill(id conversation, id after) {
  missed found;
  try {
    missed_job job{conversation, after, &hub_};
    found = co_await database_.read(std::move(job));
  } catch (const std::exception& error) {
    spdlog::warn("relay.gap_read_failed conversation={} error={}", conversation, error.what());
    found.last_seq = after; // what waits is delivered as it is; a later check reads again
  }
  std::lock_guard lock(mutex_);
  auto& state = tracks_[conversation];
  state.reading = false;
  state.from_arrival = false;
  if (found.last_seq > state.delivered) {
    for (const auto& change : found.changes) {
      // A change of this node's that waited keeps its exception (the socket that made it
      // gets an ack, not the event).
      const auto waiting = change.seq != 0 ? state.waiting.find(change.seq) : state.waiting.end();
      apply_tracked(state, change,
                    waiting != state.waiting.end() ? waiting->second.except : nullptr);
    }
    state.delivered = found.last_seq;
  } else if (found.last_seq < 0 || found.last_seq <= after) {
    // Gone, or the read failed: deliver what waits rather than hold it forever.
    if (!state.waiting.empty()) {
      state.delivered = state.waiting.begin()->first - 1;
    }
  }
  release(state);
  forget_if_nobody_here(conversation);
}

boost::asio::awaitable<void> relay::user_arriving(id user) {
  if (bus_ == nullptr) {
    co_return;
  }
  std::vector<id> users(1, user); // (g++ 12 rejects an initializer list in a co_await)
  co_await catch_up(std::move(users), true);
}

boost::asio::awaitable<void> relay::user_departed(id user) {
  if (bus_ == nullptr) {
    co_return;
  }
  std::vector<std::pair<id, std::vector<id>>> conversations;
  try {
    members_job job{user, [this](id conversation) { return tracks(conversation); }};
    conversations = co_await database_.read(std::move(job));
  } catch (const std::exception& error) {
    // Kept, then, until each one's next change concerns nobody here.
    spdlog::warn("relay.departure_read_failed user={} error={}", user, error.what());
    co_return;
  }
  std::size_t forgotten = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [conversation, members] : conversations) {
      const auto found = tracks_.find(conversation);
      if (found == tracks_.end() || found->second.reading || !found->second.waiting.empty() ||
          hub_.any_online(members)) {
        continue;
      }
      // Nobody here now, so nobody here can miss what comes next: the same as never seen.
      tracks_.erase(found);
      ++forgotten;
    }
  }
  spdlog::debug("relay.departed user={} forgot={}", user, forgotten);
}

bool relay::tracks(id conversation) const {
  std::lock_guard lock(mutex_);
  return tracks_.contains(conversation);
}

boost::asio::awaitable<void> relay::catch_up(std::vector<id> users, bool arriving) {
  positions_job job{std::move(users)};
  const auto positions = co_await database_.read(std::move(job));
  std::lock_guard lock(mutex_);
  for (const auto& position : positions) {
    auto& state = tracks_[position.conversation_id];
    if (state.reading) {
      continue; // that read brings it to the present
    }
    if (state.delivered < 0 && arriving) {
      state.delivered = position.last_seq; // the arriving client's sync brings it this far
      state.from_arrival = true;
      // But what this node committed and has not sequenced yet (a conversation just made, its
      // creation still queued) still goes to the members already here: from its first seq.
      for (const auto& queued : outbox_) {
        if (queued.change.conversation == position.conversation_id &&
            queued.change.seq <= state.delivered) {
          state.delivered = queued.change.seq - 1;
        }
      }
    } else if (state.delivered < 0) {
      // A conversation of a connected user that nothing has reached here since they arrived
      // (made or joined while the bus was away): all of it that they may see is missed.
      if (position.last_seq > position.from_seq) {
        read_missed(position.conversation_id, position.from_seq);
      } else {
        state.delivered = position.last_seq;
      }
    } else if (position.last_seq > state.delivered) {
      read_missed(position.conversation_id, state.delivered); // others here may have missed it
    }
  }
}

void relay::on_push_subscriber(std::function<void(std::optional<store::id>)> hook) {
  std::lock_guard lock(hook_mutex_);
  on_push_subscriber_ = std::move(hook);
}

void relay::tell_push_subscriber(std::optional<store::id> user) {
  std::function<void(std::optional<store::id>)> hook;
  {
    std::lock_guard lock(hook_mutex_);
    hook = on_push_subscriber_;
  }
  if (hook) {
    hook(user);
  }
}

void relay::resynchronise() {
  {
    std::lock_guard lock(mutex_);
    ++counters_.resynchronisations;
  }
  tell_push_subscriber(std::nullopt); // a subscription's word may be among what was lost
  const auto users = hub_.users();
  if (users.empty()) {
    return;
  }
  boost::asio::co_spawn(executor_, catch_up(users, false), boost::asio::detached);
}

void relay::apply(const delivery& change, const socketio::socket* except) {
  const socketio::scope about{change.conversation};
  if (change.revoked_session != 0) {
    hub_.disconnect_session(change.revoked_session);
  }
  if (change.push_subscriber != 0) {
    tell_push_subscriber(change.push_subscriber);
  }
  if (!change.removed.empty()) {
    hub_.close_scope(change.removed, change.conversation, "conversation:left",
                     socketio::single_argument(json::object{{"conversation_id", change.conversation}}));
  }
  if (!change.created.empty()) {
    const id conversation = change.conversation;
    const id message = change.message_id;
    const id sender = change.sender;
    hub_.emit_to_users_with_ack(
        change.members, "message", socketio::single_serialized_argument(change.created),
        ack_timeout_,
        [on_ack = on_ack_, conversation, message, sender](id user, const auto&) {
          if (user != sender) { // the sender's other tabs
            on_ack(user, conversation, message);
          }
        },
        except, about);
  }
  if (!change.updated.empty()) {
    hub_.emit_to_users(change.members, "message:updated",
                       socketio::single_serialized_argument(change.updated), except, about);
  }
  if (!change.views.viewers.empty()) {
    // Each viewer's object is joined with the members they share on their socket's thread.
    // A member added back is let in again by the event that shows them the conversation.
    struct shared_views {
      std::unordered_map<id, std::string> views;
      std::string members;
    };
    auto views = std::make_shared<shared_views>();
    std::vector<id> viewers;
    viewers.reserve(change.views.viewers.size());
    for (const auto& [viewer, view] : change.views.viewers) {
      views->views.emplace(viewer, view);
      viewers.push_back(viewer);
    }
    views->members = change.views.members;
    hub_.emit_to_each(
        viewers, "conversation",
        [views = std::shared_ptr<const shared_views>(std::move(views))](id viewer,
                                                                        std::string& out) {
          const auto& view = views->views.at(viewer);
          if (views->members.empty()) { // a whole object, from a node of an earlier build
            out += view;
            return;
          }
          const auto pieces = whole_view(view, views->members);
          std::size_t size = out.size() + 1; // and the array's closing bracket
          for (const auto piece : pieces) {
            size += piece.size();
          }
          out.reserve(size);
          for (const auto piece : pieces) {
            out += piece;
          }
        },
        except, socketio::scope{change.conversation, true});
  }
  if (!change.event.empty()) {
    hub_.emit_to_users(change.users, change.event,
                       socketio::single_serialized_argument(change.argument), except,
                       change.conversation != 0 ? about : socketio::scope{});
  }
}

relay::counters relay::stats() const {
  std::lock_guard lock(mutex_);
  auto now = counters_;
  now.tracked = tracks_.size();
  return now;
}

} // namespace parley::chat
