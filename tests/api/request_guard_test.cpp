#include "api/request_guard.hpp"

#include <gtest/gtest.h>

namespace parley::api {
namespace {

namespace beast_http = boost::beast::http;

http::request make_request(beast_http::verb method) {
  http::request message{method, "/api/v1/me", 11};
  message.set(beast_http::field::host, "127.0.0.1:8080");
  return message;
}

const std::vector<std::string> k_allowed{"https://chat.example.com"};

TEST(request_guard, a_bearer_token_is_preferred_over_the_cookie) {
  auto message = make_request(beast_http::verb::get);
  message.set(beast_http::field::cookie, "parley_session=from-cookie");
  message.set(beast_http::field::authorization, "Bearer from-header");
  const auto token = find_token(message);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->token, "from-header");
  EXPECT_FALSE(token->by_cookie);
}

TEST(request_guard, the_cookie_is_used_without_a_bearer_token) {
  auto message = make_request(beast_http::verb::get);
  message.set(beast_http::field::cookie, "parley_session=from-cookie");
  const auto token = find_token(message);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->token, "from-cookie");
  EXPECT_TRUE(token->by_cookie);
  EXPECT_FALSE(find_token(make_request(beast_http::verb::get)));
}

TEST(request_guard, a_cookie_write_without_origin_is_refused) {
  const auto refusal = check_origin(make_request(beast_http::verb::post), true, k_allowed);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->result(), http::status::forbidden);
  EXPECT_NE(refusal->body().find("forbidden_origin"), std::string::npos);
}

TEST(request_guard, a_bearer_write_without_origin_is_accepted) {
  EXPECT_FALSE(check_origin(make_request(beast_http::verb::post), false, k_allowed));
}

TEST(request_guard, reads_are_never_refused_for_their_origin) {
  auto message = make_request(beast_http::verb::get);
  message.set(beast_http::field::origin, "https://evil.example");
  EXPECT_FALSE(check_origin(message, true, k_allowed));
}

TEST(request_guard, listed_and_same_host_origins_are_allowed_others_not) {
  auto message = make_request(beast_http::verb::patch);
  message.set(beast_http::field::origin, "https://chat.example.com");
  EXPECT_FALSE(check_origin(message, true, k_allowed));
  message.set(beast_http::field::origin, "http://127.0.0.1:8080");
  EXPECT_FALSE(check_origin(message, true, k_allowed));
  message.set(beast_http::field::origin, "https://evil.example");
  EXPECT_TRUE(check_origin(message, true, k_allowed));
  EXPECT_TRUE(check_origin(message, false, k_allowed)); // a foreign page, even with a token
  message.set(beast_http::field::origin, "null");
  EXPECT_TRUE(check_origin(message, true, k_allowed));
}

TEST(request_guard, bodies_must_be_json_objects) {
  auto message = make_request(beast_http::verb::post);
  message.body() = R"({"phone": "+14155550123"})";
  EXPECT_TRUE(json_body(message));
  message.body() = "[1, 2]";
  EXPECT_FALSE(json_body(message));
  message.body() = "{";
  EXPECT_FALSE(json_body(message));
  message.body() = "";
  EXPECT_TRUE(json_body(message)); // an empty body is an empty object
  message.body() = R"({"phone": "+1"})";
  message.set(beast_http::field::content_type, "application/x-www-form-urlencoded");
  EXPECT_FALSE(json_body(message));
  message.set(beast_http::field::content_type, "application/json; charset=utf-8");
  EXPECT_TRUE(json_body(message));
}

TEST(request_guard, deeply_nested_json_is_refused) {
  auto message = make_request(beast_http::verb::post);
  message.body() = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(json_body(message));
}

TEST(request_guard, fields_must_have_the_right_type) {
  auto message = make_request(beast_http::verb::post);
  const boost::json::object body{{"phone", 12}, {"name", "Alice"}};
  EXPECT_FALSE(required_string(message, body, "phone"));
  EXPECT_FALSE(required_string(message, body, "code"));
  EXPECT_EQ(*required_string(message, body, "name"), "Alice");
  EXPECT_FALSE(optional_string(message, body, "code")->has_value());
}

} // namespace
} // namespace parley::api
