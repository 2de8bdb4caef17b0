#include "bus/redis.hpp"

#include <gtest/gtest.h>

namespace redis = parley::bus::redis;

TEST(bus_redis_url, host_and_port) {
  auto e = redis::parse_url("redis://10.0.0.7:6380");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->host, "10.0.0.7");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->database, 0);
  EXPECT_EQ(e->password, "");
}

TEST(bus_redis_url, defaults_and_database) {
  auto e = redis::parse_url("redis://cache.internal");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6379);

  e = redis::parse_url("REDIS://localhost:6379/3");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->database, 3);

  e = redis::parse_url("redis://localhost/");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->database, 0);
}

TEST(bus_redis_url, credentials) {
  auto e = redis::parse_url("redis://:s%40cret:x@127.0.0.1:7000/1");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->username, "");
  EXPECT_EQ(e->password, "s@cret:x");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->database, 1);
  EXPECT_EQ(e->to_string(), "redis://:***@127.0.0.1:7000/1");

  e = redis::parse_url("redis://bus:pw@h:1");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->username, "bus");
  EXPECT_EQ(e->password, "pw");
}

TEST(bus_redis_url, ipv6) {
  auto e = redis::parse_url("redis://[::1]:6390");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 6390);
  EXPECT_EQ(e->to_string(), "redis://[::1]:6390/0");
}

TEST(bus_redis_url, rejects_bad_input) {
  struct bad_case {
    const char* url;
    const char* says;
  };
  for (auto [url, says] : {
           bad_case{"", "expected redis://"},
           bad_case{"http://localhost:6379", "expected redis://"},
           bad_case{"localhost:6379", "expected redis://"},
           bad_case{"rediss://localhost", "TLS"},
           bad_case{"redis://", "missing host"},
           bad_case{"redis://:6379", "missing host"},
           bad_case{"redis://host:", "empty port"},
           bad_case{"redis://host:0", "bad port"},
           bad_case{"redis://host:65536", "bad port"},
           bad_case{"redis://host:12ab", "bad port"},
           bad_case{"redis://host:-1", "bad port"},
           bad_case{"redis://host/x", "bad database"},
           bad_case{"redis://host/-1", "bad database"},
           bad_case{"redis://host/1/2", "bad database"},
           bad_case{"redis://ho st", "bad host"},
           bad_case{"redis://host?db=1", "query"},
           bad_case{"redis://[::1", "unterminated"},
           bad_case{"redis://[::1]x", "expected ':'"},
           bad_case{"redis://user@host", "password is missing"},
           bad_case{"redis://:@host", "empty password"},
           bad_case{"redis://:a%4@host", "percent-escape"},
       }) {
    auto e = redis::parse_url(url);
    ASSERT_FALSE(e) << url;
    EXPECT_NE(e.error().find(says), std::string::npos) << url << " -> " << e.error();
  }
}

TEST(bus_redis_errors, have_messages) {
  boost::system::error_code ec = redis::error::timeout;
  EXPECT_EQ(ec.category().name(), std::string("parley.bus.redis"));
  EXPECT_EQ(ec.message(), "Redis did not answer in time");
  EXPECT_EQ(redis::to_string(redis::reply::kind::array), "array");
}
