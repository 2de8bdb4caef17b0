#include "chat/chat_service.hpp"

#include "chat/changes.hpp"
#include "chat/json.hpp"
#include "common/text.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ranges>
#include <stdexcept>
#include <utility>

namespace parley::chat {
namespace {

using boost::asio::awaitable;
using store::id;

using detail::make_error;

// -- store jobs (named function objects: see store::database::write) ---------------------

// Thrown by a send whose upload another node attached between its check and its UPDATE: the
// job's savepoint is rolled back, and the sender told as for any upload it cannot attach.
struct upload_taken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct list_conversations {
  id viewer;
  std::vector<store::conversation_summary> operator()(store::read_transaction& transaction) const {
    return transaction.conversations_of(viewer);
  }
};

// Finds or creates the direct conversation of `caller` and `other` (who must exist).
std::pair<id, bool> direct_conversation(store::write_transaction& transaction, id caller, id other,
                                        unix_ms now) {
  if (const auto existing = transaction.direct_conversation(caller, other)) {
    return {*existing, false};
  }
  const auto created = transaction.insert_conversation(
      store::conversation_kind::direct, std::nullopt, std::pair{caller, other}, caller, now);
  transaction.insert_member(created.conversation_id, caller, now);
  transaction.insert_member(created.conversation_id, other, now);
  return {created.conversation_id, true};
}

struct open_conversation_job {
  chat_service* service;
  id caller;
  std::vector<id> others; // sorted, unique, without the caller
  std::optional<std::string> title;
  unix_ms now;
  result<opened_conversation> operator()(store::write_transaction& transaction) const {
    announced = {}; // a job may run again (store::job::run_write)
    for (const auto other : others) {
      if (!transaction.user_by_id(other)) {
        return std::unexpected(
            make_error(error_code::user_not_found, fmt::format("There is no user {}.", other)));
      }
    }
    id conversation_id = 0;
    bool created = true;
    if (others.size() == 1) {
      std::tie(conversation_id, created) = direct_conversation(transaction, caller, others[0], now);
    } else {
      const auto group = transaction.insert_conversation(store::conversation_kind::group, *title,
                                                         std::nullopt, caller, now);
      conversation_id = group.conversation_id;
      transaction.next_seq(conversation_id); // the creation is the group's first change
      transaction.insert_member(conversation_id, caller, now, 0, true);
      for (const auto other : others) {
        transaction.insert_member(conversation_id, other, now);
      }
      announced = detail::to_every_member(transaction, conversation_id);
    }
    return opened_conversation{*transaction.summary(conversation_id, caller), created};
  }

  // A new group: every member's sockets, the creator's included (it came over REST).
  void committed(result<opened_conversation>& outcome) const {
    if (outcome && announced.conversation != 0) {
      service->announce(announced, nullptr);
    }
  }
  mutable chat_service::announcement announced;
};

struct stored_message {
  store::message_row message;
  std::vector<id> members;
  bool duplicate = false;
  std::string text; ///< Its JSON as delivered, once committed (not for a duplicate).
};

struct send_job {
  chat_service* service;
  const socketio::socket* except;
  id sender;
  send_request request;
  unix_ms now;

  [[nodiscard]] id conversation_hint() const { return request.conversation_id.value_or(0); }

  // A plain send waits for the engine once (the insert, which returns the members); the checks
  // that the insert makes by itself (membership, a client_id sent before) are told apart after
  // it stored nothing. A send with attachments looks for a client_id sent before first (a retry
  // is answered with the original, whose uploads are attached by now), then checks the uploads
  // before anything is written.
  result<stored_message> operator()(store::write_transaction& transaction) const {
    if (request.to && *request.to == sender) {
      return std::unexpected(
          make_error(error_code::bad_request, "You cannot send a message to yourself."));
    }
    if (looks_up_duplicate_first()) {
      if (auto original = transaction.message_by_client_id(sender, request.client_id)) {
        return stored_message{std::move(*original), {}, true};
      }
    }
    std::vector<store::upload_row> uploads;
    if (!request.attachments.empty()) {
      auto checked = check_uploads(transaction);
      if (!checked) {
        return std::unexpected(std::move(checked.error()));
      }
      uploads = std::move(*checked);
    }
    id conversation = 0;
    if (request.to) {
      if (!transaction.user_by_id(*request.to)) {
        return std::unexpected(make_error(error_code::not_found, "No such user."));
      }
      conversation = direct_conversation(transaction, sender, *request.to, now).first;
    } else {
      conversation = *request.conversation_id;
    }
    transaction.lock_conversation(conversation); // the checks see what other nodes committed
    if (request.reply_to) {
      if (auto error = check_reply(transaction, conversation)) {
        return std::unexpected(std::move(*error));
      }
    }
    auto appended = transaction.append_message(conversation, sender, request.body, now,
                                               request.client_id, request.reply_to);
    if (!appended) {
      if (auto original = transaction.message_by_client_id(sender, request.client_id)) {
        return stored_message{std::move(*original), {}, true};
      }
      return std::unexpected(make_error(error_code::not_found, "No such conversation."));
    }
    auto& message = appended->message;
    if (!uploads.empty()) {
      if (!transaction.attach_uploads(message.message_id, sender, request.attachments)) {
        // Taken meanwhile (another node's send): some may be attached already, so the job
        // fails as a whole and its savepoint is rolled back.
        throw upload_taken(
            fmt::format("message {}: an upload checked a moment ago could not be attached",
                        message.message_id));
      }
      message.attachment_count = static_cast<int>(uploads.size());
      message.attachments = std::move(uploads);
      for (auto& upload : message.attachments) {
        upload.message_id = message.message_id;
      }
    }
    // Your own message is read by you.
    transaction.raise_read(conversation, sender, message.message_id);
    return stored_message{std::move(message), std::move(appended->member_ids), false};
  }

  // A send to a person may open a conversation, and a send with attachments checks them: a
  // retry must find its original before either.
  [[nodiscard]] bool looks_up_duplicate_first() const {
    return request.to.has_value() || !request.attachments.empty();
  }

  // Every upload to attach exists, is the sender's, is attached to nothing yet and is not
  // their profile picture. One answer for all of it: whose an upload is is not told.
  result<std::vector<store::upload_row>> check_uploads(store::write_transaction& transaction) const {
    const auto refused = [] {
      return std::unexpected(make_error(error_code::bad_request, "That upload cannot be attached."));
    };
    const auto me = transaction.user_by_id(sender);
    std::vector<store::upload_row> uploads;
    uploads.reserve(request.attachments.size());
    for (const auto upload_id : request.attachments) {
      auto upload = transaction.upload(upload_id);
      if (!upload || upload->owner_id != sender || upload->message_id ||
          (me && me->avatar_upload_id == upload_id)) {
        return refused();
      }
      uploads.push_back(std::move(*upload));
    }
    return uploads;
  }

  // A reply quotes a message of the same conversation that the sender can see. (A client_id
  // sent before is answered with its message even when the quote no longer qualifies.)
  std::optional<error> check_reply(store::write_transaction& transaction, id conversation) const {
    if (!looks_up_duplicate_first() &&
        transaction.message_by_client_id(sender, request.client_id)) {
      return std::nullopt; // a duplicate: append_message stores nothing, and it is answered
    }
    const auto member = transaction.membership(conversation, sender);
    if (!member) {
      return make_error(error_code::not_found, "No such conversation.");
    }
    const auto quoted = transaction.message(*request.reply_to);
    if (!quoted || quoted->conversation_id != conversation || quoted->seq <= member->from_seq) {
      return make_error(error_code::bad_request, "reply_to names no message of this conversation.");
    }
    return std::nullopt;
  }

  // On the writer thread, in commit order: this is what keeps deliveries in id order.
  void committed(result<stored_message>& outcome) const {
    if (outcome && !outcome->duplicate) {
      outcome->text = message_text(outcome->message);
      service->deliver(outcome->message, outcome->text, outcome->members, except);
    }
  }
};

} // namespace

std::string_view to_string(error_code code) {
  switch (code) {
  case error_code::bad_request:
    return "bad_request";
  case error_code::not_found:
    return "not_found";
  case error_code::body_too_long:
    return "body_too_long";
  case error_code::rate_limited:
    return "rate_limited";
  case error_code::invalid_phone:
    return "invalid_phone";
  case error_code::invalid_name:
    return "invalid_name";
  case error_code::cannot_add_self:
    return "cannot_add_self";
  case error_code::user_not_found:
    return "user_not_found";
  case error_code::already_contact:
    return "already_contact";
  case error_code::not_a_contact:
    return "not_a_contact";
  case error_code::not_allowed:
    return "not_allowed";
  }
  return "bad_request";
}

result<std::string> validate_title(std::string_view title) {
  constexpr std::size_t k_max_title = 100;
  if (!text::is_valid_utf8(title)) {
    return std::unexpected(make_error(error_code::bad_request, "The title is not valid UTF-8."));
  }
  const auto trimmed = text::trim(title);
  if (trimmed.empty()) {
    return std::unexpected(make_error(error_code::bad_request, "A group needs a title."));
  }
  if (text::has_control_characters(trimmed) || text::has_bidi_controls(trimmed)) {
    return std::unexpected(
        make_error(error_code::bad_request, "The title must not contain control characters."));
  }
  if (text::code_point_count(trimmed) > k_max_title) {
    return std::unexpected(
        make_error(error_code::bad_request,
                   fmt::format("The title must be at most {} characters long.", k_max_title)));
  }
  return std::string(trimmed);
}

namespace detail {

result<std::string> validate_body(std::string_view body, std::size_t max_length,
                                  bool may_be_empty) {
  if (!text::is_valid_utf8(body)) {
    return std::unexpected(make_error(error_code::bad_request, "The body is not valid UTF-8."));
  }
  // U+0000 is valid UTF-8 but no text column of PostgreSQL can hold it: refused on every
  // engine, so that a message means the same wherever it is stored.
  if (body.find('\0') != std::string_view::npos) {
    return std::unexpected(
        make_error(error_code::bad_request, "The body must not contain U+0000 (NUL)."));
  }
  const auto trimmed = text::trim(body);
  if (trimmed.empty() && !may_be_empty) {
    return std::unexpected(make_error(error_code::bad_request, "The message is empty."));
  }
  if (text::code_point_count(trimmed) > max_length) {
    return std::unexpected(
        make_error(error_code::body_too_long,
                   fmt::format("A message has at most {} characters.", max_length)));
  }
  return std::string(trimmed);
}

error too_fast(std::string message, std::chrono::milliseconds wait) {
  return error{error_code::rate_limited, std::move(message), retry_after_seconds(wait)};
}

chat_service::announcement to_every_member(store::read_transaction& transaction, id conversation) {
  chat_service::announcement everyone;
  everyone.conversation = conversation;
  everyone.views = transaction.views_of_members(conversation);
  if (everyone.views) {
    // Called after the change took its seq in this transaction: the log's last one.
    everyone.seq = everyone.views->shared.conversation.last_seq;
    everyone.members = everyone.views->member_ids();
  }
  return everyone;
}

} // namespace detail

void chat_service::announce(const announcement& change, const socketio::socket* except) {
  delivery out;
  out.conversation = change.conversation;
  out.seq = change.seq;
  out.removed = change.removed;
  if (change.updated) {
    out.updated = message_text(*change.updated);
  }
  out.members = change.members;
  if (change.views) {
    out.views = render_views(*change.views);
  }
  relay_.committed(std::move(out), except);
}

void chat_service::session_revoked(id session) {
  delivery out;
  out.revoked_session = session;
  relay_.broadcast(std::move(out));
}

void chat_service::push_subscribed(id user) {
  delivery out;
  out.push_subscriber = user;
  relay_.broadcast(std::move(out));
}

chat_service::chat_service(policy rules, store::database& database, socketio::hub& hub,
                           const parley::clock& clock, bus::transport* bus,
                           boost::asio::any_io_executor executor)
    : rules_(std::move(rules)), database_(database), hub_(hub), clock_(clock),
      relay_(database, hub, rules_.delivery_ack_timeout,
             [this](id user, id conversation, id message) {
               delivered(user, conversation, message);
             },
             bus, std::move(executor)),
      message_limits_(rules_.message_rate, rules_.message_burst),
      typing_limits_(rules_.typing_rate, rules_.typing_burst),
      edit_limits_(rules_.edit_rate, rules_.edit_burst),
      delete_limits_(rules_.delete_rate, rules_.delete_burst),
      reaction_limits_(rules_.reaction_rate, rules_.reaction_burst),
      texts_(rules_.message_cache_bytes - rules_.message_cache_bytes / 4),
      index_(rules_.message_cache_bytes / 4) {}

awaitable<std::vector<store::conversation_summary>> chat_service::conversations(id viewer) {
  list_conversations job{viewer};
  co_return co_await database_.read(std::move(job));
}

awaitable<result<opened_conversation>>
chat_service::open_conversation(id caller, std::vector<id> members,
                                std::optional<std::string> title) {
  std::ranges::sort(members);
  const auto [first, last] = std::ranges::unique(members);
  members.erase(first, last);
  std::erase(members, caller);
  if (members.empty()) {
    co_return std::unexpected(
        make_error(error_code::bad_request, "Name at least one member besides yourself."));
  }
  if (members.size() > rules_.max_group_members) {
    co_return std::unexpected(make_error(
        error_code::bad_request,
        fmt::format("A group has at most {} members besides you.", rules_.max_group_members)));
  }
  if (members.size() > 1) {
    if (!title) {
      co_return std::unexpected(make_error(error_code::bad_request, "A group needs a title."));
    }
    auto valid = validate_title(*title);
    if (!valid) {
      co_return std::unexpected(std::move(valid.error()));
    }
    title = std::move(*valid);
  } else {
    title.reset();
  }
  open_conversation_job job{this, caller, std::move(members), std::move(title), clock_.now_ms(),
                            {}};
  co_return co_await database_.write(std::move(job));
}

void chat_service::send(actor from, send_request request, send_handler done) {
  const auto refuse = [&done](error refusal) {
    done(result<sent_message>(std::unexpected(std::move(refusal))));
  };
  if (request.conversation_id.has_value() == request.to.has_value()) {
    refuse(make_error(error_code::bad_request, "Give either conversation_id or to, not both."));
    return;
  }
  if (request.client_id.empty() || !text::is_valid_utf8(request.client_id) ||
      text::code_point_count(request.client_id) > rules_.max_client_id_length ||
      text::has_control_characters(request.client_id)) {
    refuse(make_error(error_code::bad_request,
                      fmt::format("client_id must be 1 to {} printable characters.",
                                  rules_.max_client_id_length)));
    return;
  }
  if (request.attachments.size() > rules_.max_attachments) {
    refuse(
        make_error(error_code::bad_request, fmt::format("A message carries at most {} attachments.",
                                                        rules_.max_attachments)));
    return;
  }
  for (std::size_t index = 0; index < request.attachments.size(); ++index) {
    if (request.attachments[index] <= 0) {
      refuse(make_error(error_code::bad_request, "'attachments' must be a list of upload ids."));
      return;
    }
    if (std::ranges::find(request.attachments.begin(), request.attachments.begin() + index,
                          request.attachments[index]) != request.attachments.begin() + index) {
      refuse(make_error(
          error_code::bad_request,
          fmt::format("Upload {} is named twice in 'attachments'.", request.attachments[index])));
      return;
    }
  }
  if (auto body = detail::validate_body(request.body, rules_.max_message_length,
                                        !request.attachments.empty())) {
    request.body = std::move(*body);
  } else {
    refuse(std::move(body.error()));
    return;
  }
  const unix_ms now = clock_.now_ms();
  if (const auto wait = message_limits_.take(from.user_id, now)) {
    refuse(detail::too_fast("Too many messages: slow down a little.", *wait));
    return;
  }
  auto executor = from.socket->executor();
  send_job job{this, from.socket.get(), from.user_id, std::move(request), now};
  // The sending socket lives until the send is answered (the job names it, to skip it).
  database_.write_then(
      std::move(job), executor,
      [sender = std::move(from.socket), done = std::move(done)](
          std::exception_ptr failure, std::optional<result<stored_message>> written) mutable {
        if (failure) {
          try {
            std::rethrow_exception(failure);
          } catch (const upload_taken&) {
            done(result<sent_message>(std::unexpected(
                make_error(error_code::bad_request, "That upload cannot be attached."))));
          } catch (...) {
            done(std::unexpected(failure));
          }
          return;
        }
        auto& stored = *written;
        if (!stored) {
          done(result<sent_message>(std::unexpected(std::move(stored.error()))));
          return;
        }
        // A retry was not delivered, so its JSON was not rendered on the writer.
        auto text = stored->duplicate ? message_text(stored->message) : std::move(stored->text);
        done(result<sent_message>(sent_message{std::move(stored->message), std::move(text)}));
      });
}

void chat_service::deliver(const store::message_row& message, std::string text,
                           const std::vector<id>& members, const socketio::socket* except) {
  delivery out;
  out.conversation = message.conversation_id;
  out.seq = message.seq;
  out.created = std::move(text);
  out.message_id = message.message_id;
  out.sender = message.sender_id;
  out.members = members;
  relay_.committed(std::move(out), except);
  if (new_message_observer_) {
    new_message_observer_(message, members);
  }
}

} // namespace parley::chat
