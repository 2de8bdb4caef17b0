#include "http/router.hpp"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

handler answer_with(status code) {
  return [code](request_context& context) -> boost::asio::awaitable<response> {
    co_return empty_response(context.message, code);
  };
}

TEST(router, matches_literal_paths_by_method) {
  router routes;
  routes.add(beast_http::verb::get, "/api/v1/me", answer_with(status::ok));
  routes.add(beast_http::verb::patch, "/api/v1/me", answer_with(status::accepted));
  const auto found = routes.find(beast_http::verb::patch, "/api/v1/me");
  ASSERT_NE(found.target, nullptr);
  EXPECT_EQ(found.route, "/api/v1/me");
}

TEST(router, captures_placeholders) {
  router routes;
  routes.add(beast_http::verb::delete_, "/api/v1/contacts/{user_id}", answer_with(status::ok));
  const auto found = routes.find(beast_http::verb::delete_, "/api/v1/contacts/42");
  ASSERT_NE(found.target, nullptr);
  EXPECT_EQ(found.parameters.at("user_id"), "42");
  EXPECT_EQ(found.route, "/api/v1/contacts/{user_id}");
}

TEST(router, a_known_path_with_another_method_lists_the_allowed_ones) {
  router routes;
  routes.add(beast_http::verb::get, "/api/v1/me", answer_with(status::ok));
  routes.add(beast_http::verb::patch, "/api/v1/me", answer_with(status::ok));
  const auto found = routes.find(beast_http::verb::delete_, "/api/v1/me");
  EXPECT_EQ(found.target, nullptr);
  EXPECT_EQ(found.allowed, "GET, PATCH");
}

TEST(router, an_unknown_path_matches_nothing) {
  router routes;
  routes.add(beast_http::verb::get, "/api/v1/me", answer_with(status::ok));
  const auto found = routes.find(beast_http::verb::get, "/api/v1/you");
  EXPECT_EQ(found.target, nullptr);
  EXPECT_TRUE(found.allowed.empty());
  EXPECT_EQ(found.route, "unmatched");
  EXPECT_EQ(routes.find(beast_http::verb::get, "/api/v1/me/extra").target, nullptr);
}

TEST(router, the_root_path_is_a_route_of_its_own) {
  router routes;
  routes.add(beast_http::verb::get, "/", answer_with(status::ok));
  EXPECT_NE(routes.find(beast_http::verb::get, "/").target, nullptr);
  EXPECT_EQ(routes.find(beast_http::verb::get, "/x").target, nullptr);
}

} // namespace
} // namespace parley::http

namespace parley::http {
namespace {

TEST(router, head_uses_the_get_route) {
  router routes;
  routes.add(beast_http::verb::get, "/healthz", answer_with(status::ok));
  const auto found = routes.find(beast_http::verb::head, "/healthz");
  ASSERT_NE(found.target, nullptr);
  EXPECT_EQ(found.route, "/healthz");
}

} // namespace
} // namespace parley::http

namespace parley::http {
namespace {

TEST(router, the_fallback_answers_unrouted_reads_only) {
  router routes;
  routes.add(beast_http::verb::get, "/api/v1/me", answer_with(status::ok));
  routes.add(beast_http::verb::patch, "/api/v1/me", answer_with(status::ok));
  routes.set_fallback("static", answer_with(status::ok));
  EXPECT_EQ(routes.find(beast_http::verb::get, "/c/7").route, "static");
  EXPECT_EQ(routes.find(beast_http::verb::head, "/").route, "static");
  EXPECT_EQ(routes.find(beast_http::verb::get, "/api/v1/me").route, "/api/v1/me");
  // A write to an unknown path is no page; a known path with another method is still 405.
  EXPECT_EQ(routes.find(beast_http::verb::post, "/c/7").target, nullptr);
  EXPECT_EQ(routes.find(beast_http::verb::delete_, "/api/v1/me").route, "method_not_allowed");
}

} // namespace
} // namespace parley::http
