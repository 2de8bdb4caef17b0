#include "net/http_client.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

TEST(parse_base_url, takes_an_https_url_with_the_default_port) {
  const auto base = parse_base_url("https://api.twilio.com");
  ASSERT_TRUE(base.has_value()) << base.error();
  EXPECT_TRUE(base->tls);
  EXPECT_EQ(base->host, "api.twilio.com");
  EXPECT_EQ(base->port, 443);
  EXPECT_EQ(base->path_prefix, "");
}

TEST(parse_base_url, keeps_an_explicit_port_and_a_path_prefix_without_trailing_slash) {
  const auto base = parse_base_url("https://Proxy.Example.com:8443/twilio/");
  ASSERT_TRUE(base.has_value()) << base.error();
  EXPECT_EQ(base->host, "proxy.example.com");
  EXPECT_EQ(base->port, 8443);
  EXPECT_EQ(base->path_prefix, "/twilio");
}

TEST(parse_base_url, allows_plain_http_only_to_loopback_hosts) {
  for (const char* text : {"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://localhost:1",
                           "http://LOCALHOST", "http://[::1]:9000", "http://127.1.2.3"}) {
    const auto base = parse_base_url(text);
    ASSERT_TRUE(base.has_value()) << text << ": " << base.error();
    EXPECT_FALSE(base->tls) << text;
  }
  for (const char* text : {"http://api.twilio.com", "http://10.0.0.1:80", "http://[2001:db8::1]",
                           "http://localhost.example.com", "http://128.0.0.1"}) {
    EXPECT_FALSE(parse_base_url(text).has_value()) << text;
  }
}

TEST(parse_base_url, strips_ipv6_brackets_for_the_connection) {
  const auto base = parse_base_url("http://[::1]:9000");
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->host, "::1");
  EXPECT_EQ(base->port, 9000);
}

TEST(parse_base_url, refuses_what_is_not_a_plain_base_url) {
  for (const char* text : {"", "api.twilio.com", "ftp://api.twilio.com", "wss://api.twilio.com",
                           "https://user:secret@api.twilio.com", "https://api.twilio.com?x=1",
                           "https://api.twilio.com#top", "https://api.twilio.com:0",
                           "https://api.twilio.com:", "https://", "https:///path"}) {
    EXPECT_FALSE(parse_base_url(text).has_value()) << text;
  }
}

TEST(form_encode, percent_encodes_everything_but_unreserved_characters) {
  EXPECT_EQ(form_encode({{"To", "+14155550123"}}), "To=%2B14155550123");
  EXPECT_EQ(form_encode({{"Body", "a b&c=d\n"}}), "Body=a%20b%26c%3Dd%0A");
  EXPECT_EQ(form_encode({{"Body", "caf\xc3\xa9 ~-._"}}), "Body=caf%C3%A9%20~-._");
  EXPECT_EQ(form_encode({{"To", "+1"}, {"Channel", "sms"}}), "To=%2B1&Channel=sms");
  EXPECT_EQ(form_encode({}), "");
  EXPECT_EQ(form_encode({{"Empty", ""}}), "Empty=");
}

TEST(path_segment, escapes_slashes_and_queries) {
  EXPECT_EQ(path_segment("AC0123abc"), "AC0123abc");
  EXPECT_EQ(path_segment("AC/../x?y"), "AC%2F..%2Fx%3Fy");
}

} // namespace
} // namespace parley::net
