// message_text (the JSON written directly for every send, ack, delivery and page) says what
// the contract's message object says (API.md), for every shape of message; message_json and
// messages_text are built from it.

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
      {"attachments", boost::json::array()},
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

TEST(messages_text, an_array_in_order) {
  EXPECT_EQ(messages_text({}), "[]");
  auto second = plain();
  second.message_id = 813;
  const auto parsed = boost::json::parse(messages_text({plain(), second}));
  EXPECT_EQ(parsed, (boost::json::array{expected(plain()), expected(second)}));
}

} // namespace
} // namespace parley::chat
