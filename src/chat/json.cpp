#include "chat/json.hpp"

#include <boost/json/array.hpp>

namespace parley::chat {

boost::json::object user_json(const store::user_row& user) {
  return {{"id", user.user_id}, {"name", user.name}, {"phone", user.phone}};
}

boost::json::object message_json(const store::message_row& message) {
  return {{"id", message.message_id},    {"conversation_id", message.conversation_id},
          {"sender_id", message.sender_id}, {"body", message.body},
          {"sent_at", message.sent_at},  {"client_id", message.client_id}};
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
        if (member.user_id != viewer) {
          title = member.name;
        }
      }
    }
  }
  result["title"] = title;
  boost::json::array members;
  members.reserve(summary.members.size());
  for (const auto& member : summary.members) {
    members.push_back(user_json(member));
  }
  result["members"] = std::move(members);
  if (summary.last_message) {
    result["last_message"] = message_json(*summary.last_message);
  } else {
    result["last_message"] = nullptr;
  }
  result["unread_count"] = summary.unread_count;
  return result;
}

} // namespace parley::chat
