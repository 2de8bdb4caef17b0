// The relay's bus payload: a delivery encoded on one node and decoded on another is the same
// delivery, and a `conversation` change from a node of an earlier build (each viewer's whole
// object, no shared members) is still understood.

#include "chat/relay.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace parley::chat {
namespace {

delivery group_change() {
  delivery change;
  change.conversation = 7;
  change.seq = 3;
  change.members = {1, 2};
  change.views.viewers = {{1, R"({"id":7,"title":"Trip","unread_count":0})"},
                          {2, R"({"id":7,"title":"Trip","unread_count":4})"}};
  change.views.members = R"([{"id":1,"name":"Ann"},{"id":2,"name":"Ben"}])";
  change.removed = {9};
  return change;
}

TEST(relay_payload, a_conversation_change_comes_back_as_it_went) {
  const auto change = group_change();
  const auto payload = encode(change);
  // The members cross once, beside each viewer's own fields.
  const auto object = boost::json::parse(payload).as_object();
  EXPECT_TRUE(object.contains("w"));
  EXPECT_TRUE(object.contains("vm"));
  EXPECT_FALSE(object.contains("v")); // what an earlier build reads as whole objects

  const auto back = decode(payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->conversation, 7);
  EXPECT_EQ(back->seq, 3);
  EXPECT_EQ(back->members, change.members);
  EXPECT_EQ(back->removed, change.removed);
  ASSERT_EQ(back->views.viewers.size(), 2U);
  for (std::size_t index = 0; index < 2; ++index) {
    EXPECT_EQ(back->views.viewers[index].first, change.views.viewers[index].first);
    EXPECT_EQ(boost::json::parse(back->views.viewers[index].second),
              boost::json::parse(change.views.viewers[index].second));
  }
  EXPECT_EQ(boost::json::parse(back->views.members), boost::json::parse(change.views.members));
}

TEST(relay_payload, whole_views_from_an_earlier_build_stay_whole) {
  const auto back = decode(
      R"({"c":7,"s":3,"mb":[1],"v":[[1,{"id":7,"title":"Trip","members":[{"id":1}]}]],"r":[],"to":[]})");
  ASSERT_TRUE(back);
  ASSERT_EQ(back->views.viewers.size(), 1U);
  EXPECT_EQ(back->views.viewers[0].first, 1);
  EXPECT_TRUE(
      boost::json::parse(back->views.viewers[0].second).as_object().contains("members"));
  EXPECT_TRUE(back->views.members.empty()); // sent as they are

  // And such a delivery, encoded again, goes out the same way.
  const auto again = boost::json::parse(encode(*back)).as_object();
  EXPECT_TRUE(again.contains("v"));
  EXPECT_FALSE(again.contains("vm"));
}

TEST(relay_payload, shared_members_missing_is_not_a_delivery) {
  EXPECT_FALSE(decode(R"({"c":7,"s":3,"mb":[1],"w":[[1,{"id":7}]]})"));
  EXPECT_FALSE(decode("not json"));
}

} // namespace
} // namespace parley::chat
