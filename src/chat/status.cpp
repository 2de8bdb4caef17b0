// The chat service's news about people rather than messages: read and delivered marks and
// their receipts, typing, presence, and changed profiles. (chat_service.cpp holds the rest.)

#include "chat/chat_service.hpp"

#include "chat/changes.hpp"
#include "chat/json.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <utility>
#include <vector>

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

using detail::make_error;

struct mark_outcome {
  bool moved = false;
  id up_to = 0;
  std::vector<id> members;
};

struct mark_read_job {
  id reader;
  id conversation;
  id up_to;
  [[nodiscard]] id conversation_hint() const { return conversation; } // advance_read locks it
  result<mark_outcome> operator()(store::write_transaction& transaction) const {
    if (!transaction.membership(conversation, reader)) {
      return std::unexpected(make_error(error_code::not_found, "No such conversation."));
    }
    const auto found = transaction.conversation(conversation);
    const id last = found && found->last_message_id ? *found->last_message_id : 0;
    mark_outcome outcome;
    outcome.up_to = std::min(up_to, last);
    outcome.moved =
        outcome.up_to > 0 && transaction.advance_read(conversation, reader, outcome.up_to);
    if (outcome.moved) {
      outcome.members = transaction.member_ids(conversation);
    }
    return outcome;
  }
};

// A delivered mark concerns the people whose messages it newly covers: in a group of N,
// telling every member of every other member's mark would cost N receipts per ack. After a
// long absence the range can be long: past this many ids the receipt goes to every member
// instead of scanning the range on the writer thread.
constexpr id k_max_scanned_ids = 2000;

struct delivered_mark {
  id user;
  id conversation;
  id up_to;
  mark_outcome outcome;
};

// Every delivered mark acknowledged since the last such job, in one store job. It is
// deferrable: it rides in the next batch of messages (or waits the store's defer limit) and
// needs no flush of its own, since a mark lost in a crash comes back with the recipient's next
// acknowledgement (docs/architecture.md).
void write_marks(store::write_transaction& transaction, std::vector<delivered_mark>& marks) {
  // By conversation, then user: the order in which the store returns those that moved.
  std::ranges::sort(marks, {}, [](const delivered_mark& mark) {
    return std::pair{mark.conversation, mark.user};
  });
  std::vector<store::delivered_mark> wanted;
  wanted.reserve(marks.size());
  for (auto& mark : marks) {
    mark.outcome = mark_outcome{false, mark.up_to, {}}; // (again, if the batch runs again)
    wanted.push_back(store::delivered_mark{mark.conversation, mark.user, mark.up_to});
  }
  auto mark = marks.begin();
  for (auto& moved : transaction.advance_delivered(wanted, k_max_scanned_ids)) {
    while (mark != marks.end() &&
           (mark->conversation != moved.conversation_id || mark->user != moved.user_id)) {
      ++mark;
    }
    if (mark == marks.end()) {
      throw std::logic_error("advance_delivered returned a mark it was not given");
    }
    mark->outcome.moved = true;
    mark->outcome.members =
        moved.senders ? std::move(*moved.senders) : transaction.member_ids(moved.conversation_id);
  }
}

struct members_if_member_job {
  id user;
  id conversation;
  std::optional<std::vector<id>> operator()(store::read_transaction& transaction) const {
    if (!transaction.membership(conversation, user)) {
      return std::nullopt;
    }
    return transaction.member_ids(conversation);
  }
};

struct contact_owners_job {
  id user;
  std::vector<id> operator()(store::read_transaction& transaction) const {
    return transaction.contact_owners_of(user);
  }
};

struct profile_audience {
  store::user_row user;
  std::vector<id> users; ///< Ascending, each once.
};

// A user as stored now, and who hears of their profile: themselves, those who have them as a
// contact, and the members of their conversations.
struct profile_audience_job {
  id user;
  std::optional<profile_audience> operator()(store::read_transaction& transaction) const {
    auto found = transaction.user_by_id(user);
    if (!found) {
      return std::nullopt;
    }
    profile_audience audience{std::move(*found), transaction.contact_owners_of(user)};
    audience.users.push_back(user);
    for (const auto& position : transaction.log_positions(user)) {
      auto members = transaction.member_ids(position.conversation_id);
      audience.users.insert(audience.users.end(), members.begin(), members.end());
    }
    std::ranges::sort(audience.users);
    const auto [first, last] = std::ranges::unique(audience.users);
    audience.users.erase(first, last);
    return audience;
  }
};

// The `receipt` event to `users`: `user` has every message of `conversation` up to `up_to`.
// Written straight as text (one a delivered message at light load): `kind` is one of this
// file's two literals, "read" and "delivered", which need no escaping.
delivery receipt(std::vector<id> users, id conversation, id user, std::string_view kind,
                 id up_to) {
  delivery out;
  out.conversation = conversation;
  out.event = "receipt";
  out.argument = fmt::format(R"({{"conversation_id":{},"user_id":{},"kind":"{}","up_to":{}}})",
                             conversation, user, kind, up_to);
  out.users = std::move(users);
  return out;
}

std::vector<id> without(std::vector<id> users, id excluded) {
  std::erase(users, excluded);
  return users;
}

} // namespace

awaitable<result<bool>> chat_service::mark_read(actor reader, id conversation, id up_to) {
  mark_read_job job{reader.user_id, conversation, up_to};
  auto outcome = co_await database_.write(std::move(job));
  if (!outcome) {
    co_return std::unexpected(std::move(outcome.error()));
  }
  if (outcome->moved) {
    relay_.broadcast(receipt(outcome->members, conversation, reader.user_id, "read", outcome->up_to),
                     reader.socket.get());
  }
  co_return true;
}

// On the writer thread once committed (or failed): the receipts go out from there, in commit
// order with the batch's other deliveries, and the next job is submitted from there too.
class chat_service::marks_job final : public store::job {
public:
  marks_job(chat_service& service, std::vector<delivered_mark> marks)
      : service_(service), marks_(std::move(marks)) {}
  void run_write(store::write_transaction& transaction) override {
    write_marks(transaction, marks_);
  }
  [[nodiscard]] bool deferrable() const override { return true; }
  // Last in a batch: it locks every conversation it marks (advance_delivered), so after the
  // sends, mostly in a transaction of its own (which, deferrable alone, waits for no flush).
  [[nodiscard]] std::int64_t conversation_hint() const override {
    return std::numeric_limits<std::int64_t>::max();
  }
  // Must not throw (it runs in the writer's loop), and must always hand over to the next job.
  void complete(std::exception_ptr failure) override {
    if (failure) {
      // Those marks are lost; later acknowledgements cover them (marks are cumulative).
      spdlog::warn("chat.delivered_marks_lost marks={}", marks_.size());
    } else {
      try {
        for (const auto& mark : marks_) {
          if (mark.outcome.moved) {
            service_.relay_.broadcast(receipt(without(mark.outcome.members, mark.user),
                                              mark.conversation, mark.user, "delivered",
                                              mark.outcome.up_to));
          }
        }
      } catch (const std::exception& error) {
        spdlog::error("chat.receipts_failed error={}", error.what());
      }
    }
    service_.write_pending_marks();
  }

private:
  chat_service& service_;
  std::vector<delivered_mark> marks_;
};

void chat_service::delivered(id user, id conversation, id message) {
  {
    std::lock_guard lock(marks_mutex_);
    auto& mark = pending_marks_[mark_key{user, conversation}];
    mark = std::max(mark, message);
    if (std::exchange(marks_job_running_, true)) {
      return; // the running job's successor takes this one
    }
  }
  write_pending_marks();
}

void chat_service::write_pending_marks() {
  std::vector<delivered_mark> marks;
  {
    std::lock_guard lock(marks_mutex_);
    if (pending_marks_.empty()) {
      marks_job_running_ = false;
      marks_idle_.notify_all();
      return;
    }
    marks.reserve(pending_marks_.size());
    for (const auto& [key, up_to] : pending_marks_) {
      marks.push_back(delivered_mark{key.user, key.conversation, up_to, {}});
    }
    pending_marks_.clear();
  }
  database_.submit_write(std::make_unique<marks_job>(*this, std::move(marks)));
}

chat_service::~chat_service() {
  std::unique_lock lock(marks_mutex_);
  marks_idle_.wait(lock, [this] { return !marks_job_running_; });
}

awaitable<result<bool>> chat_service::typing(actor typist, id conversation, bool typing) {
  if (typing_limits_.take(typist.user_id, clock_.now_ms())) {
    co_return std::unexpected(make_error(error_code::rate_limited, "Too many typing events."));
  }
  members_if_member_job job{typist.user_id, conversation};
  const auto members = co_await database_.read(std::move(job));
  if (!members) {
    co_return std::unexpected(make_error(error_code::not_found, "No such conversation."));
  }
  delivery out;
  out.conversation = conversation;
  out.event = "typing";
  out.argument = boost::json::serialize(boost::json::object{
      {"conversation_id", conversation}, {"user_id", typist.user_id}, {"typing", typing}});
  out.users = without(*members, typist.user_id);
  relay_.broadcast(std::move(out));
  co_return true;
}

awaitable<void> chat_service::user_arriving(id user) {
  co_await relay_.user_arriving(user);
}

awaitable<void> chat_service::user_departed(id user) {
  co_await relay_.user_departed(user);
}

awaitable<void> chat_service::presence_changed(id user, bool online) {
  if (presence_ != nullptr) {
    // Only coming to the cluster or leaving it is news: another node may have them already.
    const bool changed = online ? co_await presence_->arrived(user) : co_await presence_->left(user);
    if (!changed) {
      co_return;
    }
  }
  co_await announce_presence(user, online);
}

awaitable<void> chat_service::announce_presence(id user, bool online) {
  contact_owners_job job{user};
  delivery out;
  out.event = "presence";
  out.argument = boost::json::serialize(boost::json::object{
      {"user_id", user}, {"online", online}, {"last_seen", clock_.now_ms()}});
  out.users = co_await database_.read(std::move(job));
  relay_.broadcast(std::move(out));
}

awaitable<void> chat_service::profile_changed(id user) {
  profile_audience_job job{user};
  std::optional<profile_audience> audience;
  try {
    audience = co_await database_.read(std::move(job));
  } catch (const std::exception& failure) {
    spdlog::warn("chat.profile_event_lost user={} error={}", user, failure.what());
    co_return;
  }
  if (!audience) {
    co_return; // no such user (any more)
  }
  delivery out;
  out.event = "user:updated";
  out.argument = boost::json::serialize(boost::json::object{{"user", user_json(audience->user)}});
  out.users = std::move(audience->users);
  relay_.broadcast(std::move(out));
}

awaitable<std::vector<bool>> chat_service::online(const std::vector<id>& users) {
  if (presence_ != nullptr) {
    if (auto cluster = co_await presence_->online(users)) {
      co_return std::move(*cluster);
    }
  }
  std::vector<bool> here;
  here.reserve(users.size());
  for (const auto user : users) {
    here.push_back(hub_.is_online(user));
  }
  co_return here;
}

namespace {

struct set_muted_job {
  id user;
  id conversation;
  std::optional<unix_ms> until;
  [[nodiscard]] id conversation_hint() const { return conversation; } // set_muted locks it

  result<store::conversation_summary> operator()(store::write_transaction& transaction) const {
    if (!transaction.set_muted(conversation, user, until)) {
      return std::unexpected(make_error(error_code::not_found, "No such conversation."));
    }
    auto view = transaction.summary(conversation, user);
    if (!view) {
      return std::unexpected(make_error(error_code::not_found, "No such conversation."));
    }
    return std::move(*view);
  }
};

} // namespace

awaitable<result<store::conversation_summary>>
chat_service::set_muted(id user, id conversation, std::optional<unix_ms> until) {
  set_muted_job job{user, conversation, until};
  co_return co_await database_.write(std::move(job));
}

} // namespace parley::chat
