// The `services` fixture as C++ tests see it (tests/support/services.hpp): the addresses of the
// real PostgreSQL and Redis reach a test declared with SERVICES, and without them the helpers
// fail loudly rather than let a test skip.

#include "support/services.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <string>

namespace {

int port_of(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

// A blocking exchange on a loopback TCP connection: sends `request`, returns what arrives first.
std::string exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buffer[256];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      answer.assign(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

TEST(TestServices, UrlsPointAtLoopback) {
  EXPECT_TRUE(std::regex_match(parley::test::postgres_url(),
                               std::regex(R"(postgresql://parley@127\.0\.0\.1:\d+/parley)")))
      << parley::test::postgres_url();
  EXPECT_TRUE(std::regex_match(parley::test::redis_url(), std::regex(R"(redis://127\.0\.0\.1:\d+)")))
      << parley::test::redis_url();
}

TEST(TestServices, RedisAnswersPing) {
  EXPECT_EQ(exchange(port_of(parley::test::redis_url()), "PING\r\n"), "+PONG\r\n");
}

TEST(TestServices, PostgresAnswersTheProtocol) {
  // An SSLRequest: a PostgreSQL server answers with one byte, 'N' (no TLS here) or 'S'.
  const std::string ssl_request{"\x00\x00\x00\x08\x04\xd2\x16\x2f", 8};
  EXPECT_EQ(exchange(port_of(parley::test::postgres_url()), ssl_request), "N");
}

TEST(TestServices, WithoutTheFixtureTheHelpersThrow) {
  const std::string saved = parley::test::services_directory().string();
  ::unsetenv("PARLEY_TEST_SERVICES");
  EXPECT_THROW(parley::test::postgres_url(), std::runtime_error);
  EXPECT_THROW(parley::test::redis_url(), std::runtime_error);
  ::setenv("PARLEY_TEST_SERVICES", "/nonexistent/parley-test-services", 1);
  EXPECT_THROW(parley::test::postgres_url(), std::runtime_error);
  ::setenv("PARLEY_TEST_SERVICES", saved.c_str(), 1);
  EXPECT_NO_THROW(parley::test::redis_url());
}

} // namespace
