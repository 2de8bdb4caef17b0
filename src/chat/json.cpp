#include "chat/json.hpp"

#include <boost/json/array.hpp>

namespace parley::chat {

boost::json::object user_json(const store::user_row& user) {
  return {{"id", user.user_id}, {"name", user.name}, {"phone", user.phone}};
}

boost::json::object message_json(const store::message_row& message) {
  boost::json::object result{{"id", message.message_id},
                             {"conversation_id", message.conversation_id},
                             {"sender_id", message.sender_id},
                             {"body", message.deleted() ? std::string() : message.body},
                             {"sent_at", message.sent_at},
                             {"client_id", message.client_id},
                             {"seq", message.seq},
                             {"updated_seq", message.updated_seq}};
  if (message.edited_at) {
    result["edited_at"] = *message.edited_at;
  } else {
    result["edited_at"] = nullptr;
  }
  result["deleted"] = message.deleted();
  if (message.reply_to) {
    const auto& quote = *message.reply_to;
    result["reply_to"] = boost::json::object{{"id", quote.message_id},
                                             {"sender_id", quote.sender_id},
                                             {"body", quote.deleted ? std::string() : quote.body},
                                             {"deleted", quote.deleted}};
  } else {
    result["reply_to"] = nullptr;
  }
  boost::json::array reactions;
  if (!message.deleted()) {
    for (const auto& reaction : message.reactions) {
      boost::json::array users;
      for (const auto user : reaction.user_ids) {
        users.push_back(user);
      }
      reactions.push_back(
          boost::json::object{{"emoji", reaction.emoji}, {"user_ids", std::move(users)}});
    }
  }
  result["reactions"] = std::move(reactions);
  result["attachments"] = boost::json::array();
  return result;
}

boost::json::object contact_json(const store::contact_row& contact, bool online) {
  boost::json::object result{{"user", user_json(contact.user)}, {"name", contact.name}};
  if (contact.conversation_id) {
    result["conversation_id"] = *contact.conversation_id;
  } else {
    result["conversation_id"] = nullptr;
  }
  result["online"] = online;
  return result;
}

boost::json::object conversation_json(const store::conversation_summary& summary,
                                      store::id viewer) {
  const auto& conversation = summary.conversation;
  boost::json::object result;
  result["id"] = conversation.conversation_id;
  const bool direct = conversation.kind == store::conversation_kind::direct;
  result["kind"] = direct ? "direct" : "group";
  std::string title = conversation.title.value_or("");
  if (direct) {
    if (summary.nickname) {
      title = *summary.nickname;
    } else {
      for (const auto& member : summary.members) {
        if (member.user.user_id != viewer) {
          title = member.user.name;
        }
      }
    }
  }
  result["title"] = title;
  boost::json::array members;
  members.reserve(summary.members.size());
  for (const auto& member : summary.members) {
    auto shown = user_json(member.user);
    shown["admin"] = member.admin;
    shown["read_up_to"] = member.read_up_to;
    shown["delivered_up_to"] = member.delivered_up_to;
    members.push_back(std::move(shown));
  }
  result["members"] = std::move(members);
  if (summary.last_message) {
    result["last_message"] = message_json(*summary.last_message);
  } else {
    result["last_message"] = nullptr;
  }
  result["unread_count"] = summary.unread_count;
  result["seq"] = conversation.last_seq;
  return result;
}

} // namespace parley::chat
