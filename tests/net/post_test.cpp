// http_client::post against a real TLS server on loopback, and the address filter that
// keeps calls to user-given URLs out of the server's own network.
#include "net/http_client.hpp"
#include "support/http_test_servers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace parley::net {
namespace {

namespace asio = boost::asio;
using result = std::expected<http_response, transport_error>;

bool public_address(std::string_view text) {
  return is_public_address(asio::ip::make_address(text));
}

TEST(is_public_address, refuses_every_local_private_and_special_range) {
  for (const char* text :
       {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
        "127.0.0.1", "127.8.9.10", "169.254.169.254", "172.16.0.1", "172.31.255.255",
        "192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
        "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "::", "::1", "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1",
        "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
        "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a00:1"}) {
    EXPECT_FALSE(public_address(text)) << text;
  }
}

TEST(is_public_address, accepts_public_addresses) {
  for (const char* text : {"8.8.8.8", "1.1.1.1", "142.250.74.106", "100.63.255.255",
                           "100.128.0.1", "172.15.255.255", "172.32.0.1", "192.167.1.1",
                           "198.17.255.255", "2a00:1450:4001:80b::200a", "2606:4700::1111",
                           "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(public_address(text)) << text;
  }
}

// Runs one call of `client` on this thread's io_context. It lives as long as the thread: the
// network side of the call holds a copy of the caller's executor for a moment after the
// result is ready, so it must not be destroyed with the call.
result call(const http_client& client, outgoing_request request) {
  static thread_local asio::io_context caller;
  caller.restart();
  auto future = asio::co_spawn(caller, client.post(std::move(request)), asio::use_future);
  caller.run();
  return future.get();
}

class post_test : public ::testing::Test {
protected:
  post_test()
      : tls_(std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client)),
        work_(asio::make_work_guard(network_)), runner_([this] { network_.run(); }) {
    const auto& pem = server_.certificate_pem();
    tls_->add_certificate_authority(asio::buffer(pem.data(), pem.size()));
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  ~post_test() override {
    work_.reset();
    runner_.join();
  }

  http_client client(address_filter allowed = {}) {
    base_url base;
    base.host = "localhost";
    base.port = server_.port();
    return http_client(base, network_.get_executor(), std::chrono::seconds(10), tls_,
                       std::move(allowed));
  }

  test_support::tls_test_server server_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context network_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread runner_;
};

TEST_F(post_test, sends_the_target_headers_and_body_and_returns_the_answer_with_its_headers) {
  outgoing_request request;
  request.target = "/push/abc?token=1";
  request.headers = {{"TTL", "86400"}, {"Content-Encoding", "aes128gcm"}};
  request.body = std::string("\x00\x01\x02 body", 8);
  const auto answer = call(client(), std::move(request));
  ASSERT_TRUE(answer.has_value()) << answer.error().detail;
  EXPECT_EQ(answer->status, 201U);
  EXPECT_FALSE(answer->header("content-type").empty());
  EXPECT_EQ(answer->header("Content-Type"), answer->header("CONTENT-TYPE"));
  EXPECT_TRUE(answer->header("X-Not-There").empty());
  const auto connection = server_.next_connection();
  ASSERT_TRUE(connection.has_value());
  const std::string& seen = connection->request;
  EXPECT_EQ(seen.rfind("POST /push/abc?token=1 HTTP/1.1\r\n", 0), 0U) << seen;
  EXPECT_NE(seen.find("TTL: 86400\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Content-Encoding: aes128gcm\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Content-Length: 8\r\n"), std::string::npos) << seen;
  EXPECT_EQ(seen.substr(seen.size() - 8), std::string("\x00\x01\x02 body", 8));
}

TEST_F(post_test, a_filter_that_refuses_every_address_stops_the_call_before_it_connects) {
  const auto refused = call(client([](const asio::ip::address& address) {
                              return is_public_address(address); // localhost is loopback
                            }),
                            outgoing_request{"/first", {}, "x"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().what, transport_error::kind::refused) << refused.error().detail;
  EXPECT_NE(refused.error().detail.find("localhost"), std::string::npos);
  // The server never saw it: the next call, allowed, is the first connection it gets.
  const auto allowed = call(client(), outgoing_request{"/second", {}, "y"});
  ASSERT_TRUE(allowed.has_value()) << allowed.error().detail;
  const auto connection = server_.next_connection();
  ASSERT_TRUE(connection.has_value());
  EXPECT_EQ(connection->request.rfind("POST /second ", 0), 0U) << connection->request;
}

} // namespace
} // namespace parley::net
