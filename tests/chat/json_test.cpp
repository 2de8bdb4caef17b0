// message_text (the JSON written directly for every send, ack, delivery and page) says what
// the contract's message object says (API.md), for every shape of message; message_json and
// messages_text are built from it. User objects carry avatar_url wherever users are shown
// (user_json, contact_json, conversation_json's members).

#include "chat/json.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace parley::chat {
namespace {

store::message_row plain() {
  store::message_row message;
  message.message_id = 812;
  message.conversation_id = 7;
  message.sender_id = 3;
  message.body = "hi \"there\" \\ \n\t\u00e9\U0001F44D \x01";
  message.sent_at = 1764000000000;
  message.client_id = "c0a8-\"quoted\"";
  message.seq = 41;
  message.updated_seq = 41;
  return message;
}

store::upload_row photo() {
  store::upload_row upload;
  upload.upload_id = 31;
  upload.owner_id = 3;
  upload.kind = store::upload_kind::image;
  upload.mime = "image/jpeg";
  upload.size = 48213;
  upload.name = "beach \"day\".jpg";
  upload.width = 1600;
  upload.height = 1200;
  upload.blob = "ab12";
  upload.thumbnail_blob = "cd34";
  upload.thumbnail_mime = "image/jpeg";
  upload.created_at = 1764000000000;
  upload.message_id = 812;
  return upload;
}

store::upload_row document() {
  store::upload_row upload;
  upload.upload_id = 30;
  upload.owner_id = 3;
  upload.kind = store::upload_kind::file;
  upload.mime = "application/pdf";
  upload.size = 1024;
  upload.name = "notes.pdf";
  upload.blob = "ef56";
  upload.created_at = 1764000000000;
  upload.message_id = 812;
  return upload;
}

// The contract's attachment object (API.md "Attachments"), stated independently.
boost::json::object expected_attachment(const store::upload_row& upload) {
  const bool image = upload.kind == store::upload_kind::image;
  boost::json::object shown{{"id", upload.upload_id},
                            {"kind", image ? "image" : "file"},
                            {"mime", upload.mime},
                            {"size", upload.size},
                            {"name", upload.name},
                            {"url", "/media/" + std::to_string(upload.upload_id)}};
  if (upload.width) {
    shown["width"] = *upload.width;
  }
  if (upload.height) {
    shown["height"] = *upload.height;
  }
  if (image) {
    shown["thumbnail_url"] = "/media/" + std::to_string(upload.upload_id) + "/thumbnail";
  }
  return shown;
}

// The contract's object for `message`, stated independently of the code under test.
boost::json::object expected(const store::message_row& message) {
  boost::json::value reply_to = nullptr;
  if (message.reply_to) {
    const auto& quote = *message.reply_to;
    reply_to = boost::json::object{{"id", quote.message_id},
                                   {"sender_id", quote.sender_id},
                                   {"body", quote.deleted ? std::string() : quote.body},
                                   {"deleted", quote.deleted}};
  }
  boost::json::array reactions;
  if (!message.deleted()) {
    for (const auto& reaction : message.reactions) {
      reactions.push_back(boost::json::object{
          {"emoji", reaction.emoji},
          {"user_ids", boost::json::array(reaction.user_ids.begin(), reaction.user_ids.end())}});
    }
  }
  boost::json::array attachments;
  if (!message.deleted()) {
    for (const auto& upload : message.attachments) {
      attachments.push_back(expected_attachment(upload));
    }
  }
  return boost::json::object{
      {"id", message.message_id},
      {"conversation_id", message.conversation_id},
      {"sender_id", message.sender_id},
      {"body", message.deleted() ? std::string() : message.body},
      {"sent_at", message.sent_at},
      {"client_id", message.client_id},
      {"seq", message.seq},
      {"updated_seq", message.updated_seq},
      {"edited_at", message.edited_at ? boost::json::value(*message.edited_at) : nullptr},
      {"deleted", message.deleted()},
      {"reply_to", std::move(reply_to)},
      {"reactions", std::move(reactions)},
      {"attachments", attachments},
  };
}

void expect_as_contracted(const store::message_row& message) {
  EXPECT_EQ(boost::json::parse(message_text(message)), boost::json::value(expected(message)))
      << message_text(message);
  EXPECT_EQ(message_json(message), expected(message));
}

TEST(message_text, a_plain_message) { expect_as_contracted(plain()); }

TEST(message_text, an_edited_reply_with_reactions) {
  auto message = plain();
  message.updated_seq = 44;
  message.edited_at = 1764000001000;
  message.reply_to_id = 800;
  message.reply_to = store::quote_row{800, 4, "the \"quoted\" one", false};
  message.reactions = {{"👍", {3, 5}}, {"❤️", {4}}};
  expect_as_contracted(message);
}

TEST(message_text, a_tombstone_and_a_reply_to_one) {
  auto message = plain();
  message.deleted_at = 1764000002000;
  message.reactions = {{"👍", {3}}}; // never shown on a tombstone
  message.reply_to_id = 800;
  message.reply_to = store::quote_row{800, 4, "", true};
  expect_as_contracted(message);
  const auto parsed = boost::json::parse(message_text(message)).as_object();
  EXPECT_EQ(parsed.at("body"), "");
  EXPECT_TRUE(parsed.at("reactions").as_array().empty());
  EXPECT_EQ(parsed.at("deleted"), true);
}

TEST(message_text, extreme_ids) {
  auto message = plain();
  message.message_id = INT64_MAX;
  message.reactions = {{"🎉", {INT64_MAX, 1}}};
  expect_as_contracted(message);
}

TEST(message_text, attachments_in_their_order) {
  auto message = plain();
  message.attachments = {photo(), document()};
  message.attachment_count = 2;
  expect_as_contracted(message);
  const auto parsed = boost::json::parse(message_text(message)).as_object();
  const auto& attachments = parsed.at("attachments").as_array();
  ASSERT_EQ(attachments.size(), 2U);
  EXPECT_EQ(attachments[0], (boost::json::object{{"id", 31},
                                                 {"kind", "image"},
                                                 {"mime", "image/jpeg"},
                                                 {"size", 48213},
                                                 {"name", "beach \"day\".jpg"},
                                                 {"width", 1600},
                                                 {"height", 1200},
                                                 {"url", "/media/31"},
                                                 {"thumbnail_url", "/media/31/thumbnail"}}));
  // A file: no thumbnail, and no size in pixels.
  EXPECT_EQ(attachments[1], (boost::json::object{{"id", 30},
                                                 {"kind", "file"},
                                                 {"mime", "application/pdf"},
                                                 {"size", 1024},
                                                 {"name", "notes.pdf"},
                                                 {"url", "/media/30"}}));
}

TEST(message_text, an_image_of_unknown_size_has_no_width_or_height) {
  auto message = plain();
  auto image = photo();
  image.width.reset();
  image.height.reset();
  message.attachments = {image};
  expect_as_contracted(message);
  const auto shown = boost::json::parse(message_text(message)).at("attachments").at(0).as_object();
  EXPECT_FALSE(shown.contains("width"));
  EXPECT_FALSE(shown.contains("height"));
  EXPECT_EQ(shown.at("thumbnail_url"), "/media/31/thumbnail");
}

TEST(message_text, a_tombstone_shows_no_attachments) {
  auto message = plain();
  message.deleted_at = 1764000002000;
  message.attachments = {photo()}; // never shown on a tombstone
  expect_as_contracted(message);
  EXPECT_TRUE(boost::json::parse(message_text(message)).at("attachments").as_array().empty());
}

TEST(upload_json, the_upload_object_has_no_urls) {
  EXPECT_EQ(upload_json(document()), (boost::json::object{{"id", 30},
                                                          {"kind", "file"},
                                                          {"mime", "application/pdf"},
                                                          {"size", 1024},
                                                          {"name", "notes.pdf"}}));
  const auto image = upload_json(photo());
  EXPECT_EQ(image.at("width"), 1600);
  EXPECT_EQ(image.at("height"), 1200);
  EXPECT_FALSE(image.contains("url"));
  EXPECT_FALSE(image.contains("thumbnail_url"));
  EXPECT_EQ(attachment_json(photo()), expected_attachment(photo()));
}

store::user_row alice(std::optional<store::id> avatar) {
  store::user_row user;
  user.user_id = 3;
  user.phone = "+14155550123";
  user.name = "Alice";
  user.created_at = 1764000000000;
  user.avatar_upload_id = avatar;
  return user;
}

TEST(user_json, avatar_url_is_the_pictures_thumbnail_or_null) {
  EXPECT_EQ(user_json(alice(std::nullopt)), (boost::json::object{{"id", 3},
                                                                {"name", "Alice"},
                                                                {"phone", "+14155550123"},
                                                                {"avatar_url", nullptr}}));
  EXPECT_EQ(user_json(alice(77)), (boost::json::object{{"id", 3},
                                                      {"name", "Alice"},
                                                      {"phone", "+14155550123"},
                                                      {"avatar_url", "/media/77/thumbnail"}}));
  EXPECT_EQ(media_url(77), "/media/77");
  EXPECT_EQ(thumbnail_url(77), "/media/77/thumbnail");
}

TEST(user_json, contacts_and_members_carry_it_too) {
  store::contact_row contact;
  contact.user = alice(77);
  contact.name = "Al";
  const auto shown = contact_json(contact, true);
  EXPECT_EQ(shown.at("user"), user_json(alice(77)));
  EXPECT_EQ(shown.at("name"), "Al");

  store::conversation_summary summary;
  summary.conversation.conversation_id = 7;
  summary.conversation.kind = store::conversation_kind::group;
  summary.conversation.title = "Team";
  auto bob = alice(std::nullopt);
  bob.user_id = 4;
  bob.name = "Bob";
  summary.members = {store::member_view{alice(77), true, 0, 0}, store::member_view{bob, false, 0, 0}};
  const auto conversation = conversation_json(summary, 4);
  const auto& members = conversation.at("members").as_array();
  ASSERT_EQ(members.size(), 2U);
  EXPECT_EQ(members[0].at("avatar_url"), "/media/77/thumbnail");
  EXPECT_EQ(members[1].at("avatar_url"), nullptr);
  EXPECT_EQ(members[0].at("admin"), true);
}

// Every member's view rendered at once is, joined with the members, each one's own object.
TEST(render_views, each_viewer_gets_their_own_object_with_the_members_written_once) {
  store::member_views views;
  auto& shared = views.shared;
  shared.conversation.conversation_id = 7;
  shared.conversation.kind = store::conversation_kind::direct;
  shared.conversation.last_seq = 9;
  auto bob = alice(std::nullopt);
  bob.user_id = 4;
  bob.name = "Bob";
  shared.members = {store::member_view{alice(77), false, 3, 5},
                    store::member_view{bob, false, 0, 0}};
  shared.last_message = plain();
  views.viewers = {store::viewer_part{alice(77).user_id, true, 2, "Bobby", 5000},
                   store::viewer_part{4, false, 0, std::nullopt, std::nullopt}};

  const auto rendered = render_views(views);
  EXPECT_EQ(boost::json::parse(rendered.members),
            conversation_json(shared, 4).at("members"));
  ASSERT_EQ(rendered.viewers.size(), 2U);
  for (std::size_t index = 0; index < 2; ++index) {
    const auto& [viewer, object] = rendered.viewers[index];
    EXPECT_EQ(viewer, views.viewers[index].viewer);
    EXPECT_FALSE(boost::json::parse(object).as_object().contains("members"));
    std::string whole;
    for (const auto piece : whole_view(object, rendered.members)) {
      whole += piece;
    }
    EXPECT_EQ(boost::json::parse(whole),
              conversation_json(store::viewing(shared, views.viewers[index]), viewer));
  }
  const auto first = boost::json::parse(rendered.viewers[0].second);
  EXPECT_EQ(first.at("title"), "Bobby");
  EXPECT_EQ(first.at("unread_count"), 2);
  EXPECT_EQ(first.at("muted_until"), 5000);
  const auto second = boost::json::parse(rendered.viewers[1].second);
  EXPECT_EQ(second.at("title"), "Alice");
  EXPECT_EQ(second.at("last_message"), nullptr);

  const auto some = render_views(views, [](store::id viewer) { return viewer == 4; });
  ASSERT_EQ(some.viewers.size(), 1U);
  EXPECT_EQ(some.viewers[0].first, 4);
}

TEST(messages_text, an_array_in_order) {
  EXPECT_EQ(messages_text({}), "[]");
  auto second = plain();
  second.message_id = 813;
  const auto parsed = boost::json::parse(messages_text({plain(), second}));
  EXPECT_EQ(parsed, (boost::json::array{expected(plain()), expected(second)}));
}

TEST(messages_text, appended_after_what_the_answer_already_holds) {
  std::string out = R"({"messages":)";
  append_messages_text(out, {plain()});
  out += "}";
  EXPECT_EQ(boost::json::parse(out), (boost::json::object{{"messages", {expected(plain())}}}));
}

// Bodies whose escaped form is many times longer than the text, and text that needs none.
TEST(message_text, strings_with_many_escapes_come_back_whole) {
  auto message = plain();
  for (int code = 0; code < 0x20; ++code) {
    message.body += std::string(40, static_cast<char>(code));
  }
  message.body += std::string(300, '"') + std::string(300, '\\') + "é 👍";
  message.client_id = std::string(5000, 'x');
  expect_as_contracted(message);
  EXPECT_EQ(boost::json::parse(message_text(message)).at("body").as_string(), message.body);
}

} // namespace
} // namespace parley::chat
