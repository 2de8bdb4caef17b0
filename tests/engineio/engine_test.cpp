#include "engineio/engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>

namespace parley::engineio {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

class counting_handler final : public session_handler {
public:
  void on_open(const std::shared_ptr<session>&) override { ++opened; }
  void on_message(const std::shared_ptr<session>&, packet&& message) override {
    messages.push_back(std::move(message.data));
  }
  void on_close(const std::shared_ptr<session>&, close_reason) override {}
  int opened = 0;
  std::vector<std::string> messages;
};

// The endpoint as the router calls it, on one io_context.
class engine_test : public ::testing::Test {
protected:
  asio::io_context context_;
  counting_handler handler_;

  http::response request(engine& endpoint, beast_http::verb method, std::string target,
                         std::string body = {}) {
    http::request message{method, target, 11};
    message.set(beast_http::field::host, "127.0.0.1:8080");
    if (!body.empty()) {
      message.set(beast_http::field::content_type, "text/plain;charset=UTF-8");
      message.body() = std::move(body);
      message.prepare_payload();
    }
    const std::string_view whole = message.target();
    const auto question = whole.find('?');
    http::request_context context{message, "127.0.0.1", false, {}, whole.substr(0, question),
                                  question == std::string_view::npos ? std::string_view()
                                                                     : whole.substr(question + 1)};
    auto answer = asio::co_spawn(context_, endpoint.handle_http(context), asio::use_future);
    while (answer.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (context_.stopped()) {
        context_.restart();
      }
      if (context_.run_one() == 0) {
        ADD_FAILURE() << "nothing left to run, and the answer is not there";
        return http::response{};
      }
    }
    return answer.get();
  }

  // The sid of a polling handshake's open packet.
  std::string handshake(engine& endpoint) {
    const auto answer = request(endpoint, beast_http::verb::get, "/socket.io/?EIO=4&transport=polling");
    EXPECT_EQ(answer.result(), beast_http::status::ok) << answer.body();
    if (!answer.body().starts_with("0{")) {
      ADD_FAILURE() << "not an open packet: " << answer.body();
      return {};
    }
    return std::string(boost::json::parse(answer.body().substr(1)).at("sid").as_string());
  }

  static bool url_safe_random_part(std::string_view text) {
    return text.size() == 20 && std::ranges::all_of(text, [](char c) {
             return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
           });
  }
};

TEST_F(engine_test, a_node_puts_its_id_in_front_of_every_sid_it_issues) {
  options settings;
  settings.sid_prefix = "n1.";
  engine endpoint(settings, handler_);
  const auto first = handshake(endpoint);
  const auto second = handshake(endpoint);
  ASSERT_TRUE(first.starts_with("n1.")) << first;
  ASSERT_TRUE(second.starts_with("n1.")) << second;
  // After the prefix, the same 20 random URL-safe characters as a single node's sid (which
  // never contain the '.' that ends the prefix), drawn afresh for every session.
  EXPECT_TRUE(url_safe_random_part(std::string_view(first).substr(3))) << first;
  EXPECT_TRUE(url_safe_random_part(std::string_view(second).substr(3))) << second;
  EXPECT_NE(first, second);
  EXPECT_EQ(endpoint.session_count(), 2U);
  // The prefixed sid is the session's id: requests that name it find the session.
  const auto posted = request(endpoint, beast_http::verb::post,
                              "/socket.io/?EIO=4&transport=polling&sid=" + first, "4hello");
  EXPECT_EQ(posted.result(), beast_http::status::ok) << posted.body();
  EXPECT_EQ(posted.body(), "ok");
  ASSERT_EQ(handler_.messages.size(), 1U);
  EXPECT_EQ(handler_.messages[0], "hello");
  // Another node's sid (same random part, other prefix) is unknown here.
  const auto elsewhere = request(endpoint, beast_http::verb::post,
                                 "/socket.io/?EIO=4&transport=polling&sid=n2." + first.substr(3),
                                 "4hello");
  EXPECT_EQ(elsewhere.result(), beast_http::status::bad_request);
  EXPECT_EQ(elsewhere.body(), R"({"code":1,"message":"Session ID unknown"})");
  endpoint.close_all();
}

TEST_F(engine_test, without_a_node_id_sids_are_twenty_random_characters) {
  engine endpoint(options{}, handler_);
  const auto sid = handshake(endpoint);
  EXPECT_TRUE(url_safe_random_part(sid)) << sid;
  EXPECT_EQ(sid.find('.'), std::string::npos);
  endpoint.close_all();
}

TEST_F(engine_test, a_draining_engine_refuses_new_handshakes_with_503) {
  options settings;
  settings.sid_prefix = "n1.";
  engine endpoint(settings, handler_);
  const auto before = handshake(endpoint);
  EXPECT_EQ(handler_.opened, 1);
  endpoint.close_all(); // what the server's drain does
  const auto refused = request(endpoint, beast_http::verb::get, "/socket.io/?EIO=4&transport=polling");
  EXPECT_EQ(refused.result(), beast_http::status::service_unavailable) << refused.body();
  EXPECT_FALSE(refused.keep_alive());
  EXPECT_EQ(handler_.opened, 1); // no session was opened for it
  // The session that was open gets its close packet with its next poll.
  const auto closing = request(endpoint, beast_http::verb::get,
                               "/socket.io/?EIO=4&transport=polling&sid=" + before);
  EXPECT_EQ(closing.result(), beast_http::status::ok);
  EXPECT_EQ(closing.body(), "1");
}

} // namespace
} // namespace parley::engineio
