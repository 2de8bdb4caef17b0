// message_text (the JSON written directly for every send, ack and delivery) says exactly what
// message_json says, for every shape of message.

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

void expect_same(const store::message_row& message) {
  EXPECT_EQ(boost::json::parse(message_text(message)), boost::json::value(message_json(message)))
      << message_text(message);
}

TEST(message_text, a_plain_message) { expect_same(plain()); }

TEST(message_text, an_edited_reply_with_reactions) {
  auto message = plain();
  message.updated_seq = 44;
  message.edited_at = 1764000001000;
  message.reply_to_id = 800;
  message.reply_to = store::quote_row{800, 4, "the \"quoted\" one", false};
  message.reactions = {{"👍", {3, 5}}, {"❤️", {4}}};
  expect_same(message);
}

TEST(message_text, a_tombstone_and_a_reply_to_one) {
  auto message = plain();
  message.deleted_at = 1764000002000;
  message.reactions = {{"👍", {3}}}; // never shown on a tombstone
  message.reply_to_id = 800;
  message.reply_to = store::quote_row{800, 4, "", true};
  expect_same(message);
  const auto parsed = boost::json::parse(message_text(message)).as_object();
  EXPECT_EQ(parsed.at("body"), "");
  EXPECT_TRUE(parsed.at("reactions").as_array().empty());
  EXPECT_EQ(parsed.at("deleted"), true);
}

TEST(message_text, extreme_ids) {
  auto message = plain();
  message.message_id = INT64_MAX;
  message.reactions = {{"🎉", {INT64_MAX, 1}}};
  expect_same(message);
}

} // namespace
} // namespace parley::chat
