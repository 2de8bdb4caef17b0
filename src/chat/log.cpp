// Changes to a message (chat_service.hpp): edit, delete for everyone, reactions. Each takes
// its conversation's next seq in the transaction that makes it, and is announced on the
// writer thread right after COMMIT; a call that changes nothing takes no seq and tells no one.
#include "chat/changes.hpp"
#include "chat/emoji.hpp"

#include <fmt/format.h>

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

struct visible_message {
  store::message_row message;
  store::member_row member;
};

// The message if `user` may see it: a member of its conversation since before it was sent.
// The message as it is once its conversation is locked (store::write_transaction::
// lock_conversation): a change made meanwhile on another node is seen.
result<visible_message> find_visible(store::write_transaction& transaction, id user, id message_id) {
  auto message = transaction.message(message_id);
  if (message) {
    transaction.lock_conversation(message->conversation_id);
    message = transaction.message(message_id);
  }
  if (message) {
    auto member = transaction.membership(message->conversation_id, user);
    if (member && message->seq > member->from_seq) {
      return visible_message{std::move(*message), std::move(*member)};
    }
  }
  return std::unexpected(error{error_code::not_found, "No such message."});
}

error not_allowed(std::string message) {
  return error{error_code::not_allowed, std::move(message)};
}

// not_allowed when `message` was sent more than `window` before `now` (`may`: "edited", …).
std::optional<error> past_window(const store::message_row& message, unix_ms now,
                                 std::chrono::seconds window, std::string_view may) {
  if (now - message.sent_at <= std::chrono::milliseconds(window).count()) {
    return std::nullopt;
  }
  return not_allowed(fmt::format("A message can be {} for {} hours after it was sent.", may,
                                 window.count() / 3600.0));
}

// What every change job shares: who acts, the announcement, and its delivery after COMMIT.
struct change_job {
  chat_service* service;
  const socketio::socket* except;
  id user;
  id message_id;
  unix_ms now;
  mutable chat_service::announcement announced;

  // The message acted on, first in every change, which may run again (store::job::run_write):
  // so the announcement of an earlier run goes first too.
  result<visible_message> visible(store::write_transaction& transaction) const {
    announced = {};
    return find_visible(transaction, user, message_id);
  }

  // Takes the next seq, lets `apply` make the change at it, and prepares the announcement.
  template <class Apply>
  store::message_row change(store::write_transaction& transaction,
                            const store::message_row& message, Apply apply) const {
    const id seq = transaction.next_seq(message.conversation_id);
    apply(seq);
    auto updated = transaction.message(message.message_id);
    announced.conversation = message.conversation_id;
    announced.seq = seq;
    // Those who joined after the message was sent never see it, nor its changes.
    for (const auto& member : transaction.members(message.conversation_id)) {
      if (member.from_seq < message.seq) {
        announced.members.push_back(member.user_id);
      }
    }
    announced.updated = *updated;
    return std::move(*updated);
  }

  void committed(result<store::message_row>& outcome) const {
    if (outcome && announced.updated) {
      service->announce(announced, except);
    }
  }
};

struct edit_job : change_job {
  std::string body;
  std::chrono::seconds window;
  result<store::message_row> operator()(store::write_transaction& transaction) const {
    auto found = visible(transaction);
    if (!found) {
      return std::unexpected(std::move(found.error()));
    }
    const auto& message = found->message;
    if (message.sender_id != user) {
      return std::unexpected(not_allowed("Only its sender can edit a message."));
    }
    if (message.deleted()) {
      return std::unexpected(not_allowed("A deleted message cannot be edited."));
    }
    if (auto refusal = past_window(message, now, window, "edited")) {
      return std::unexpected(std::move(*refusal));
    }
    if (body.empty() && message.attachments.empty()) {
      return std::unexpected(error{error_code::bad_request, "The message is empty."});
    }
    if (message.body == body) {
      return message; // nothing changes
    }
    return change(transaction, message,
                  [&](id seq) { transaction.edit_message(message.message_id, body, now, seq); });
  }
};

struct delete_job : change_job {
  std::chrono::seconds window;
  result<store::message_row> operator()(store::write_transaction& transaction) const {
    auto found = visible(transaction);
    if (!found) {
      return std::unexpected(std::move(found.error()));
    }
    const auto& message = found->message;
    if (message.deleted()) {
      return message; // already a tombstone
    }
    const auto conversation = transaction.conversation(message.conversation_id);
    const bool group_admin = found->member.admin && conversation &&
                             conversation->kind == store::conversation_kind::group;
    if (!group_admin) {
      if (message.sender_id != user) {
        return std::unexpected(
            not_allowed("Only its sender or a group admin can delete a message."));
      }
      if (auto refusal = past_window(message, now, window, "deleted")) {
        return std::unexpected(std::move(*refusal));
      }
    }
    return change(transaction, message,
                  [&](id seq) { transaction.delete_message(message.message_id, now, seq); });
  }
};

struct react_job : change_job {
  std::optional<std::string> emoji;
  result<store::message_row> operator()(store::write_transaction& transaction) const {
    auto found = visible(transaction);
    if (!found) {
      return std::unexpected(std::move(found.error()));
    }
    const auto& message = found->message;
    if (message.deleted()) {
      return std::unexpected(not_allowed("A deleted message takes no reactions."));
    }
    std::optional<std::string> mine;
    for (const auto& reaction : message.reactions) {
      if (std::ranges::find(reaction.user_ids, user) != reaction.user_ids.end()) {
        mine = reaction.emoji;
      }
    }
    if (mine == emoji) {
      return message; // the same reaction again, or none to remove
    }
    return change(transaction, message, [&](id seq) {
      transaction.set_reaction(message.message_id, user,
                               emoji ? std::optional<std::string_view>(*emoji) : std::nullopt, seq);
    });
  }
};

} // namespace

awaitable<result<store::message_row>> chat_service::edit(actor editor, id message,
                                                         std::string body) {
  // Empty is allowed here for a message with attachments (the job knows).
  auto valid = detail::validate_body(body, rules_.max_message_length, true);
  if (!valid) {
    co_return std::unexpected(std::move(valid.error()));
  }
  const unix_ms now = clock_.now_ms();
  if (const auto wait = edit_limits_.take(editor.user_id, now)) {
    co_return std::unexpected(detail::too_fast("Too many edits: slow down a little.", *wait));
  }
  edit_job job{{this, editor.socket.get(), editor.user_id, message, now, {}},
               std::move(*valid),
               rules_.edit_window};
  co_return co_await database_.write(std::move(job));
}

awaitable<result<store::message_row>> chat_service::remove(actor remover, id message) {
  const unix_ms now = clock_.now_ms();
  if (const auto wait = delete_limits_.take(remover.user_id, now)) {
    co_return std::unexpected(detail::too_fast("Too many deletes: slow down a little.", *wait));
  }
  delete_job job{{this, remover.socket.get(), remover.user_id, message, now, {}},
                 rules_.delete_window};
  co_return co_await database_.write(std::move(job));
}

awaitable<result<store::message_row>> chat_service::react(actor reactor, id message,
                                                          std::optional<std::string> emoji) {
  if (emoji && !is_one_emoji(*emoji)) {
    co_return std::unexpected(
        error{error_code::bad_request,
              fmt::format("A reaction is one emoji of at most {} bytes.", k_max_emoji_bytes)});
  }
  const unix_ms now = clock_.now_ms();
  if (const auto wait = reaction_limits_.take(reactor.user_id, now)) {
    co_return std::unexpected(detail::too_fast("Too many reactions: slow down a little.", *wait));
  }
  react_job job{{this, reactor.socket.get(), reactor.user_id, message, now, {}}, std::move(emoji)};
  co_return co_await database_.write(std::move(job));
}

} // namespace parley::chat
