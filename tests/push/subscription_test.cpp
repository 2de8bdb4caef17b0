// What a browser hands over when it subscribes (endpoint and keys, checked before anything is
// stored) and the plaintext of a push.

#include "push/push_service.hpp"
#include "push/subscription.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <string>

namespace parley::push {
namespace {

TEST(push_endpoint, an_https_endpoint_splits_into_origin_target_and_audience) {
  const auto parsed =
      parse_endpoint("https://fcm.googleapis.com/fcm/send/abc:DEF-123?x=1", false);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(parsed->origin.tls);
  EXPECT_EQ(parsed->origin.host, "fcm.googleapis.com");
  EXPECT_EQ(parsed->origin.port, 443);
  EXPECT_EQ(parsed->target, "/fcm/send/abc:DEF-123?x=1");
  EXPECT_EQ(parsed->audience, "https://fcm.googleapis.com");

  const auto with_port = parse_endpoint("https://Push.Example.COM:8443", false);
  ASSERT_TRUE(with_port) << with_port.error();
  EXPECT_EQ(with_port->origin.host, "push.example.com");
  EXPECT_EQ(with_port->origin.port, 8443);
  EXPECT_EQ(with_port->target, "/");
  EXPECT_EQ(with_port->audience, "https://push.example.com:8443");

  const auto public_v6 = parse_endpoint("https://[2001:4860:4860::8888]/p", false);
  ASSERT_TRUE(public_v6) << public_v6.error();
  EXPECT_EQ(public_v6->audience, "https://[2001:4860:4860::8888]");
}

TEST(push_endpoint, only_public_https_hosts_are_accepted) {
  for (const char* refused : {
           "http://push.example.com/p",       // not https
           "ftp://push.example.com/p",        //
           "push.example.com/p",              // not absolute
           "https://user:pw@push.example.com/p", // user info
           "https://push.example.com/p#f",    // fragment
           "https://localhost/p",             // loopback by name
           "https://a.localhost/p",           //
           "https://intranet/p",              // no dot: a local name
           "https://127.0.0.1/p",             // loopback
           "https://10.1.2.3/p",              // private
           "https://172.16.0.1/p",            //
           "https://192.168.1.1/p",           //
           "https://169.254.169.254/latest",  // link-local (cloud metadata)
           "https://100.64.0.1/p",            // carrier-grade NAT
           "https://0.0.0.0/p",               //
           "https://[::1]/p",                 // loopback IPv6
           "https://[fe80::1]/p",             // link-local IPv6
           "https://[fd00::1]/p",             // unique local IPv6
           "https://[::ffff:10.0.0.1]/p",     // IPv4-mapped private
           "https://push.example.com:0/p",    // no port
       }) {
    EXPECT_FALSE(parse_endpoint(refused, false)) << refused;
    EXPECT_FALSE(parse_endpoint(refused, true)) << refused;
  }
  EXPECT_FALSE(parse_endpoint("https://push.example.com/" + std::string(max_endpoint_length, 'a'),
                              false));
  const auto refusal = parse_endpoint("http://push.example.com/p", false);
  EXPECT_NE(refusal.error().find("'endpoint'"), std::string::npos) << refusal.error();
}

TEST(push_endpoint, plain_http_to_127_0_0_1_only_with_the_testing_flag) {
  EXPECT_FALSE(parse_endpoint("http://127.0.0.1:9000/push/1", false));
  const auto allowed = parse_endpoint("http://127.0.0.1:9000/push/1", true);
  ASSERT_TRUE(allowed) << allowed.error();
  EXPECT_FALSE(allowed->origin.tls);
  EXPECT_EQ(allowed->audience, "http://127.0.0.1:9000");
  EXPECT_FALSE(parse_endpoint("http://127.0.0.2:9000/push/1", true));
  EXPECT_FALSE(parse_endpoint("http://localhost:9000/push/1", true));
  EXPECT_FALSE(parse_endpoint("http://10.0.0.1:9000/push/1", true));

  const auto filter = send_filter(true);
  EXPECT_TRUE(filter(boost::asio::ip::make_address("127.0.0.1")));
  EXPECT_FALSE(filter(boost::asio::ip::make_address("127.0.0.2")));
  EXPECT_FALSE(filter(boost::asio::ip::make_address("192.168.0.1")));
  EXPECT_TRUE(filter(boost::asio::ip::make_address("8.8.8.8")));
  EXPECT_FALSE(send_filter(false)(boost::asio::ip::make_address("127.0.0.1")));
}

TEST(push_keys, a_point_on_p256_and_16_bytes_of_auth) {
  const auto key = ec_key::generate();
  const std::string point = base64url(key.public_bytes());
  const std::string auth = base64url(bytes(16, 7));
  const auto keys = parse_keys(point, auth);
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_EQ(keys->p256dh, key.public_bytes());
  EXPECT_EQ(keys->auth, bytes(16, 7));
  EXPECT_TRUE(parse_keys(point + "=", auth + "==")); // padded, as some browsers send it

  bytes off_curve = key.public_bytes();
  off_curve[64] ^= 1; // y no longer matches x
  EXPECT_FALSE(parse_keys(base64url(off_curve), auth));
  EXPECT_FALSE(parse_keys(base64url(bytes(65, 4)), auth));
  EXPECT_FALSE(parse_keys(point.substr(0, 40), auth));             // too short
  EXPECT_FALSE(parse_keys(std::string(5000, 'A'), auth));          // over-long
  EXPECT_FALSE(parse_keys(point, base64url(bytes(15, 7))));        // 15 bytes
  EXPECT_FALSE(parse_keys(point, base64url(bytes(17, 7))));        // 17 bytes
  EXPECT_FALSE(parse_keys(point, "not base64url!"));
  EXPECT_FALSE(parse_keys("", auth));
  const auto refusal = parse_keys(base64url(off_curve), auth);
  EXPECT_NE(refusal.error().find("p256dh"), std::string::npos) << refusal.error();
}

TEST(push_payload, previews_carry_the_sender_and_the_first_200_characters) {
  const auto shown = boost::json::parse(payload(7, 42, "Climbing", true, "Alice", "On my way", 0));
  EXPECT_EQ(shown.as_object(), (boost::json::object{{"conversation_id", 7},
                                                    {"message_id", 42},
                                                    {"title", "Climbing"},
                                                    {"body", "Alice: On my way"}}));

  const auto hidden = boost::json::parse(payload(7, 42, "Climbing", false, "Alice", "secret", 0));
  EXPECT_EQ(hidden.as_object(),
            (boost::json::object{{"conversation_id", 7}, {"message_id", 42}, {"title", "Climbing"}}));

  std::string long_text;
  for (int i = 0; i < 250; ++i) {
    long_text += "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"; // 👍🏽: one character of two code points
  }
  const auto cut = boost::json::parse(payload(1, 2, "Bob", true, "Bob", long_text, 0));
  const std::string body(cut.at("body").as_string());
  EXPECT_EQ(body, "Bob: " + long_text.substr(0, 200 * 8));

  EXPECT_EQ(boost::json::parse(payload(1, 2, "Bob", true, "Bob", "", 1)).at("body"),
            "Bob: Attachment");
  EXPECT_EQ(boost::json::parse(payload(1, 2, "Bob", true, "Bob", "", 3)).at("body"),
            "Bob: 3 attachments");
}

} // namespace
} // namespace parley::push
