#include "http/message.hpp"
#include "http/metrics.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace parley::http {
namespace {

TEST(message, errors_have_the_contract_shape_with_code_first) {
  request to{beast_http::verb::get, "/", 11};
  const auto answer = error_response(to, status::bad_request, "invalid_code", "Wrong code.",
                                     boost::json::object{{"attempts_left", 3}});
  EXPECT_EQ(answer.result(), status::bad_request);
  EXPECT_EQ(answer[beast_http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(answer.body(),
            R"({"error":{"code":"invalid_code","message":"Wrong code.","attempts_left":3}})");
}

TEST(message, retry_after_is_whole_seconds_and_at_least_one) {
  request to{beast_http::verb::get, "/", 11};
  auto answer = empty_response(to, status::too_many_requests);
  set_retry_after(answer, std::chrono::seconds(0));
  EXPECT_EQ(answer[beast_http::field::retry_after], "1");
  set_retry_after(answer, std::chrono::seconds(30));
  EXPECT_EQ(answer[beast_http::field::retry_after], "30");
}

TEST(message, cookies_are_found_among_several_headers) {
  request from{beast_http::verb::get, "/", 11};
  from.insert(beast_http::field::cookie, "theme=dark; lang=en");
  from.insert(beast_http::field::cookie, "parley_session=abc-123;other=1");
  EXPECT_EQ(cookie(from, "parley_session"), "abc-123");
  EXPECT_EQ(cookie(from, "lang"), "en");
  EXPECT_FALSE(cookie(from, "parley"));
  EXPECT_FALSE(cookie(from, "session"));
}

TEST(message, query_parameters_are_decoded) {
  EXPECT_EQ(query_parameter("before=12&limit=50", "limit"), "50");
  EXPECT_EQ(query_parameter("q=a%20b", "q"), "a b");
  EXPECT_FALSE(query_parameter("limit=50", "before"));
  EXPECT_FALSE(query_parameter("", "before"));
}

TEST(metrics, counts_requests_by_route_method_and_status) {
  metrics counters;
  counters.record_request("/api/v1/me", "GET", 200, std::chrono::microseconds(300));
  counters.record_request("/api/v1/me", "GET", 200, std::chrono::milliseconds(30));
  counters.record_request("/api/v1/me", "GET", 401, std::chrono::microseconds(100));
  counters.connection_opened();
  const auto text = counters.render();
  EXPECT_NE(text.find(R"(parley_http_requests_total{route="/api/v1/me",method="GET",status="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(parley_http_requests_total{route="/api/v1/me",method="GET",status="401"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(parley_http_request_duration_seconds_bucket{route="/api/v1/me",le="0.0005"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(parley_http_request_duration_seconds_count{route="/api/v1/me"} 3)"),
            std::string::npos);
  EXPECT_NE(text.find("parley_http_open_connections 1\n"), std::string::npos);
}

TEST(metrics, sampled_histograms_show_cumulative_buckets_their_sum_and_count) {
  metrics counters;
  common::latency_histogram values;
  counters.add_sampled_histogram("parley_test_seconds", "A test histogram.",
                                 [&values] { return values; });
  values.record(std::chrono::microseconds(300));
  values.record(std::chrono::milliseconds(3));
  values.record(std::chrono::seconds(3));
  const auto text = counters.render();
  for (const auto* line : {"# TYPE parley_test_seconds histogram\n",
                           "parley_test_seconds_bucket{le=\"0.0005\"} 1\n",
                           "parley_test_seconds_bucket{le=\"0.0025\"} 1\n",
                           "parley_test_seconds_bucket{le=\"0.005\"} 2\n",
                           "parley_test_seconds_bucket{le=\"2.5\"} 2\n",
                           "parley_test_seconds_bucket{le=\"+Inf\"} 3\n",
                           "parley_test_seconds_count 3\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  const auto sum = text.find("parley_test_seconds_sum ");
  ASSERT_NE(sum, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(sum + 24)), 3.0033, 1e-9);
}

TEST(metrics, sampled_values_are_read_at_each_render) {
  metrics counters;
  double value = 1;
  counters.add_sampled("parley_test_value", "A test value.", "gauge", [&value] { return value; });
  EXPECT_NE(counters.render().find("parley_test_value 1\n"), std::string::npos);
  value = 5;
  EXPECT_NE(counters.render().find("parley_test_value 5\n"), std::string::npos);
}

} // namespace
} // namespace parley::http

namespace parley::http {
namespace {

// Regression: Boost.URL 1.81's decode() read past the end of the query view.
TEST(message, a_query_value_stops_at_the_end_of_the_view) {
  const std::string buffer = "EIO=4&sid=abc HTTP/1.1\r\nAccept: */*\r\n";
  const std::string_view query(buffer.data(), 13);
  EXPECT_EQ(query_parameter(query, "sid"), "abc");
  EXPECT_EQ(query_parameter("a=1&b", "b"), "");
  EXPECT_EQ(query_parameter("x=%4", "x"), "%4");
  EXPECT_EQ(query_parameter("x=a+b%2B", "x"), "a b+");
}

} // namespace
} // namespace parley::http
