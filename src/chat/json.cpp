#include "chat/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <iterator>

namespace parley::chat {

using namespace std::string_view_literals;

boost::json::object user_json(const store::user_row& user) {
  boost::json::object shown{{"id", user.user_id}, {"name", user.name}, {"phone", user.phone}};
  if (user.avatar_upload_id) {
    shown["avatar_url"] = thumbnail_url(*user.avatar_upload_id);
  } else {
    shown["avatar_url"] = nullptr;
  }
  return shown;
}

boost::json::object own_user_json(const store::user_row& user) {
  auto shown = user_json(user);
  shown["notification_previews"] = user.notification_previews;
  return shown;
}

std::string media_url(store::id upload) { return fmt::format("/media/{}", upload); }

std::string thumbnail_url(store::id upload) { return fmt::format("/media/{}/thumbnail", upload); }

boost::json::object upload_json(const store::upload_row& upload) {
  boost::json::object shown{
      {"id", upload.upload_id},
      {"kind", upload.kind == store::upload_kind::image ? "image" : "file"},
      {"mime", upload.mime},
      {"size", upload.size},
      {"name", upload.name},
  };
  if (upload.width) {
    shown["width"] = *upload.width;
  }
  if (upload.height) {
    shown["height"] = *upload.height;
  }
  return shown;
}

boost::json::object attachment_json(const store::upload_row& upload) {
  auto shown = upload_json(upload);
  shown["url"] = media_url(upload.upload_id);
  if (upload.kind == store::upload_kind::image) {
    shown["thumbnail_url"] = thumbnail_url(upload.upload_id);
  }
  return shown;
}

namespace {

// A JSON string literal of `text` (quotes and escapes), written straight into `out`.
void append_string(std::string& out, std::string_view text) {
  boost::json::serializer writer;
  writer.reset(boost::json::string_view(text.data(), text.size()));
  while (!writer.done()) {
    const auto start = out.size();
    const auto room = text.size() + 16; // escapes make it longer: then another round
    out.resize(start + room);
    const auto written = writer.read(out.data() + start, room);
    out.resize(start + written.size());
  }
}

void append_number(std::string& out, std::int64_t number) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), number).ptr;
  out.append(digits.data(), end);
}

} // namespace

std::string message_text(const store::message_row& message) {
  std::string out;
  out.reserve(256 + message.body.size());
  append_message_text(out, message);
  return out;
}

void append_message_text(std::string& out, const store::message_row& message) {
  out += R"({"id":)"sv;
  append_number(out, message.message_id);
  out += R"(,"conversation_id":)"sv;
  append_number(out, message.conversation_id);
  out += R"(,"sender_id":)"sv;
  append_number(out, message.sender_id);
  out += R"(,"body":)"sv;
  append_string(out, message.deleted() ? std::string_view() : std::string_view(message.body));
  out += R"(,"sent_at":)"sv;
  append_number(out, message.sent_at);
  out += R"(,"client_id":)"sv;
  append_string(out, message.client_id);
  out += R"(,"seq":)"sv;
  append_number(out, message.seq);
  out += R"(,"updated_seq":)"sv;
  append_number(out, message.updated_seq);
  out += R"(,"edited_at":)"sv;
  if (message.edited_at) {
    append_number(out, *message.edited_at);
  } else {
    out += "null"sv;
  }
  out += message.deleted() ? R"(,"deleted":true)"sv : R"(,"deleted":false)"sv;
  out += R"(,"reply_to":)"sv;
  if (message.reply_to) {
    const auto& quote = *message.reply_to;
    out += R"({"id":)"sv;
    append_number(out, quote.message_id);
    out += R"(,"sender_id":)"sv;
    append_number(out, quote.sender_id);
    out += R"(,"body":)"sv;
    append_string(out, quote.deleted ? std::string_view() : std::string_view(quote.body));
    out += quote.deleted ? R"(,"deleted":true})"sv : R"(,"deleted":false})"sv;
  } else {
    out += "null"sv;
  }
  out += R"(,"reactions":[)"sv;
  if (!message.deleted()) {
    bool first = true;
    for (const auto& reaction : message.reactions) {
      out += first ? R"({"emoji":)"sv : R"(,{"emoji":)"sv;
      first = false;
      append_string(out, reaction.emoji);
      out += R"(,"user_ids":[)"sv;
      for (std::size_t index = 0; index < reaction.user_ids.size(); ++index) {
        if (index > 0) {
          out += ',';
        }
        append_number(out, reaction.user_ids[index]);
      }
      out += "]}"sv;
    }
  }
  out += R"(],"attachments":[)"sv;
  if (!message.deleted()) {
    for (std::size_t index = 0; index < message.attachments.size(); ++index) {
      if (index > 0) {
        out += ',';
      }
      out += boost::json::serialize(attachment_json(message.attachments[index]));
    }
  }
  out += "]}"sv;
}

std::string messages_text(const std::vector<store::message_row>& messages) {
  std::string out;
  append_messages_text(out, messages);
  return out;
}

void append_messages_text(std::string& out, const std::vector<store::message_row>& messages) {
  std::size_t bodies = 0;
  for (const auto& message : messages) {
    bodies += message.body.size();
  }
  out.reserve(out.size() + 2 + messages.size() * 256 + bodies);
  out += '[';
  for (std::size_t index = 0; index < messages.size(); ++index) {
    if (index > 0) {
      out += ',';
    }
    append_message_text(out, messages[index]);
  }
  out += ']';
}

boost::json::object message_json(const store::message_row& message) {
  // One definition of the message's shape: message_text's.
  return boost::json::parse(message_text(message)).as_object();
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

namespace {

// A direct conversation is titled with the viewer's nickname for the other member, or their name.
std::string title_for(const store::conversation_row& conversation,
                      const std::optional<std::string>& nickname,
                      const std::vector<store::member_view>& members, store::id viewer) {
  if (conversation.kind != store::conversation_kind::direct) {
    return conversation.title.value_or("");
  }
  if (nickname) {
    return *nickname;
  }
  std::string title = conversation.title.value_or("");
  for (const auto& member : members) {
    if (member.user.user_id != viewer) {
      title = member.user.name;
    }
  }
  return title;
}

boost::json::array members_json(const std::vector<store::member_view>& members) {
  boost::json::array shown;
  shown.reserve(members.size());
  for (const auto& member : members) {
    auto one = user_json(member.user);
    one["admin"] = member.admin;
    one["read_up_to"] = member.read_up_to;
    one["delivered_up_to"] = member.delivered_up_to;
    shown.push_back(std::move(one));
  }
  return shown;
}

// The fields after "members": last_message (its JSON, or null), unread_count, seq, muted_until.
void put_viewer_fields(boost::json::object& result, const boost::json::value& last_message,
                       std::int64_t unread_count, store::id seq,
                       const std::optional<unix_ms>& muted_until) {
  result["last_message"] = last_message;
  result["unread_count"] = unread_count;
  result["seq"] = seq;
  if (muted_until) {
    result["muted_until"] = *muted_until;
  } else {
    result["muted_until"] = nullptr;
  }
}

boost::json::value last_message_json(const std::optional<store::message_row>& message) {
  return message ? boost::json::value(message_json(*message)) : boost::json::value(nullptr);
}

boost::json::object head_json(const store::conversation_summary& summary, std::string title) {
  const bool direct = summary.conversation.kind == store::conversation_kind::direct;
  return boost::json::object{{"id", summary.conversation.conversation_id},
                             {"kind", direct ? "direct" : "group"},
                             {"title", std::move(title)}};
}

} // namespace

boost::json::object conversation_json(const store::conversation_summary& summary,
                                      store::id viewer) {
  auto result = head_json(summary, title_for(summary.conversation, summary.nickname,
                                             summary.members, viewer));
  result["members"] = members_json(summary.members);
  put_viewer_fields(result, last_message_json(summary.last_message), summary.unread_count,
                    summary.conversation.last_seq, summary.muted_until);
  return result;
}

rendered_views render_views(const store::member_views& views,
                            const std::function<bool(store::id)>& wanted) {
  rendered_views out;
  const auto& shared = views.shared;
  out.members = boost::json::serialize(members_json(shared.members));
  // The last message is written once, for every viewer who may see it.
  const auto last_message = last_message_json(shared.last_message);
  const boost::json::value none = nullptr;
  for (const auto& part : views.viewers) {
    if (wanted && !wanted(part.viewer)) {
      continue;
    }
    auto object = head_json(shared, title_for(shared.conversation, part.nickname, shared.members,
                                              part.viewer));
    put_viewer_fields(object, part.sees_last_message ? last_message : none, part.unread_count,
                      shared.conversation.last_seq, part.muted_until);
    out.viewers.emplace_back(part.viewer, boost::json::serialize(object));
  }
  return out;
}

} // namespace parley::chat
