// Posts held by an open batch: one post per executor, in order, and a throwing handler does
// not lose the ones after it.

#include "common/post_batch.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace parley::common {
namespace {

TEST(post_batch, hands_each_executor_its_posts_in_one_post_in_order) {
  boost::asio::io_context first;
  boost::asio::io_context second;
  std::vector<int> ran;
  {
    const post_batch batch;
    post_batch::post(first.get_executor(), [&] { ran.push_back(1); });
    post_batch::post(second.get_executor(), [&] { ran.push_back(10); });
    post_batch::post(first.get_executor(), [&] { ran.push_back(2); });
    post_batch::post(first.get_executor(), [&] { ran.push_back(3); });
    EXPECT_EQ(first.poll(), 0U); // held until the batch closes
    first.restart();             // a context that ran out of work stops
  }
  EXPECT_EQ(first.poll_one(), 1U); // one handler runs all three
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(second.poll(), 1U);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 10}));
}

TEST(post_batch, without_an_open_batch_a_post_is_a_post) {
  boost::asio::io_context context;
  int ran = 0;
  post_batch::post(context.get_executor(), [&] { ++ran; });
  post_batch::post(context.get_executor(), [&] { ++ran; });
  EXPECT_EQ(context.poll(), 2U);
  EXPECT_EQ(ran, 2);
}

TEST(post_batch, the_handlers_after_one_that_throws_still_run) {
  boost::asio::io_context context;
  std::vector<int> ran;
  {
    const post_batch batch;
    post_batch::post(context.get_executor(), [&] { ran.push_back(1); });
    post_batch::post(context.get_executor(), [] { throw std::runtime_error("handler failed"); });
    post_batch::post(context.get_executor(), [&] { ran.push_back(3); });
  }
  EXPECT_THROW(context.poll(), std::runtime_error);
  EXPECT_EQ(ran, (std::vector<int>{1}));
  context.restart();
  EXPECT_EQ(context.poll(), 1U);
  EXPECT_EQ(ran, (std::vector<int>{1, 3}));
}

TEST(post_batch, a_batch_opened_within_another_joins_it) {
  boost::asio::io_context context;
  std::vector<int> ran;
  {
    const post_batch outer;
    post_batch::post(context.get_executor(), [&] { ran.push_back(1); });
    {
      const post_batch inner;
      post_batch::post(context.get_executor(), [&] { ran.push_back(2); });
    }
    EXPECT_EQ(context.poll(), 0U); // nothing goes ahead of the outer batch's posts
    context.restart();
    post_batch::post(context.get_executor(), [&] { ran.push_back(3); });
  }
  EXPECT_EQ(context.poll_one(), 1U); // one handler runs all three
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

} // namespace
} // namespace parley::common
