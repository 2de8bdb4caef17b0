// redis::subscriber against real redis-server processes.

#include "bus/redis.hpp"
#include "bus/redis_server.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace asio = boost::asio;
namespace redis = parley::bus::redis;
using boost::system::error_code;
using namespace std::chrono_literals;
using parley::testing::redis_server;
using parley::testing::run_until;

namespace {

struct received {
  std::string pattern, channel, payload;
};

class bus_redis_subscriber : public ::testing::Test {
protected:
  bus_redis_subscriber() {
    options_.connect_timeout = 1000ms;
    options_.command_timeout = 1000ms;
    options_.ping_interval = 100ms;
    options_.ping_timeout = 400ms;
    options_.reconnect_min = 20ms;
    options_.reconnect_max = 200ms;
    publisher_ = std::make_unique<redis::client>(io_.get_executor(), server_.where(), options_);
    subscriber_ =
        std::make_unique<redis::subscriber>(io_.get_executor(), server_.where(), options_);
    publisher_->on_connected([this] { ++publisher_connected_; });
    subscriber_->on_message([this](const redis::message& m) {
      messages_.push_back({std::string(m.pattern), std::string(m.channel), std::string(m.payload)});
    });
    subscriber_->on_ready([this] { ++ready_; });
    subscriber_->on_disconnected([this](error_code ec) {
      ++disconnected_;
      last_disconnect_ = ec;
    });
  }

  void start_both() {
    publisher_->start();
    subscriber_->start();
    ASSERT_TRUE(run_until(io_, [&] { return publisher_->connected() && ready_ == 1; }));
  }

  redis::reply command(std::vector<std::string> args) {
    bool done = false;
    redis::reply out;
    error_code failure;
    publisher_->command(std::move(args), [&](error_code ec, redis::reply r) {
      done = true;
      failure = ec;
      out = std::move(r);
    });
    EXPECT_TRUE(run_until(io_, [&] { return done; }));
    EXPECT_FALSE(failure) << failure.message();
    return out;
  }

  // Publishes and waits until `count` messages have arrived in all.
  void publish_and_wait(const std::string& channel, const std::string& payload, std::size_t count) {
    command({"PUBLISH", channel, payload});
    ASSERT_TRUE(run_until(io_, [&] { return messages_.size() >= count; }))
        << "got " << messages_.size() << " of " << count;
  }

  redis_server server_;
  asio::io_context io_;
  redis::options options_;
  std::unique_ptr<redis::client> publisher_;
  std::unique_ptr<redis::subscriber> subscriber_;
  std::vector<received> messages_;
  int publisher_connected_ = 0;
  int ready_ = 0;
  int disconnected_ = 0;
  error_code last_disconnect_;
};

TEST_F(bus_redis_subscriber, receives_in_order) {
  subscriber_->subscribe("chat:1");
  subscriber_->psubscribe("room:*");
  start_both();

  for (int i = 0; i < 300; ++i)
    publisher_->command({"PUBLISH", "chat:1", "m" + std::to_string(i)}, [](error_code, auto) {});
  const std::string binary("x\0y\r\n", 5);
  publisher_->command({"PUBLISH", "chat:1", binary}, [](error_code, auto) {});
  ASSERT_TRUE(run_until(io_, [&] { return messages_.size() == 301; }));
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(messages_[i].channel, "chat:1");
    EXPECT_EQ(messages_[i].payload, "m" + std::to_string(i));
    EXPECT_EQ(messages_[i].pattern, "");
  }
  EXPECT_EQ(messages_[300].payload, binary);

  publish_and_wait("room:7", "hello", 302);
  EXPECT_EQ(messages_.back().pattern, "room:*");
  EXPECT_EQ(messages_.back().channel, "room:7");
  EXPECT_EQ(messages_.back().payload, "hello");
}

TEST_F(bus_redis_subscriber, subscribes_and_unsubscribes_while_connected) {
  start_both();
  EXPECT_TRUE(subscriber_->ready());
  subscriber_->subscribe("a");
  // The confirmation is not exposed; the server's count is.
  ASSERT_TRUE(run_until(io_, [&] {
    return command({"PUBSUB", "NUMSUB", "a"}).elements.at(1).integer == 1;
  }));
  publish_and_wait("a", "1", 1);

  subscriber_->unsubscribe("a");
  subscriber_->subscribe("b");
  command({"PUBLISH", "a", "dropped"}); // unwanted: never delivered, sent or not
  publish_and_wait("b", "2", 2);
  ASSERT_EQ(messages_.size(), 2u);
  EXPECT_EQ(messages_[1].channel, "b");
  EXPECT_EQ(subscriber_->channels(), std::vector<std::string>{"b"});
  EXPECT_EQ(disconnected_, 0);
}

TEST_F(bus_redis_subscriber, probes_keep_a_healthy_idle_connection) {
  subscriber_->subscribe("quiet");
  start_both();
  parley::testing::run_for(io_, 1500ms); // ~15 probes
  EXPECT_EQ(disconnected_, 0);
  EXPECT_EQ(ready_, 1);
  EXPECT_TRUE(subscriber_->ready());
  publish_and_wait("quiet", "still here", 1);
}

TEST_F(bus_redis_subscriber, resubscribes_after_client_kill) {
  subscriber_->subscribe("chat:9");
  subscriber_->psubscribe("p:*");
  start_both();
  publish_and_wait("chat:9", "before", 1);

  auto killed = command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(killed.is_integer());
  EXPECT_EQ(killed.integer, 1);
  ASSERT_TRUE(run_until(io_, [&] { return ready_ == 2; }));
  EXPECT_EQ(disconnected_, 1);
  EXPECT_EQ(last_disconnect_, redis::error::connection_lost);
  EXPECT_EQ(command({"PUBSUB", "NUMSUB", "chat:9"}).elements.at(1).integer, 1);
  EXPECT_EQ(command({"PUBSUB", "NUMPAT"}).integer, 1);

  publish_and_wait("chat:9", "after", 2);
  EXPECT_EQ(messages_[1].payload, "after");
  publish_and_wait("p:1", "pattern too", 3);
  EXPECT_EQ(publisher_connected_, 1) << "the publisher was not touched";
}

TEST_F(bus_redis_subscriber, both_reconnect_after_the_server_restarts) {
  subscriber_->subscribe("chat:2");
  start_both();
  publish_and_wait("chat:2", "one", 1);

  server_.kill();
  ASSERT_TRUE(run_until(io_, [&] { return disconnected_ == 1 && !publisher_->connected(); }));
  subscriber_->subscribe("chat:3"); // while down: sent with the rest after reconnecting
  server_.restart();
  ASSERT_TRUE(run_until(io_, [&] { return publisher_connected_ == 2 && ready_ == 2; }));
  publish_and_wait("chat:2", "two", 2);
  publish_and_wait("chat:3", "three", 3);
  EXPECT_EQ(messages_[1].payload, "two");
  EXPECT_EQ(messages_[2].channel, "chat:3");
}

TEST_F(bus_redis_subscriber, probe_notices_a_stalled_server) {
  subscriber_->subscribe("chat:4");
  start_both();
  server_.pause();
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io_, [&] { return disconnected_ == 1; }, 5s));
  EXPECT_EQ(last_disconnect_, redis::error::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  server_.resume();
  ASSERT_TRUE(run_until(
      io_, [&] { return ready_ == 2 && publisher_->connected(); }, 10s));
  publish_and_wait("chat:4", "back", 1);
}

TEST_F(bus_redis_subscriber, stop_is_final) {
  subscriber_->subscribe("chat:5");
  start_both();
  subscriber_->stop();
  EXPECT_FALSE(subscriber_->ready());
  ASSERT_TRUE(run_until(io_, [&] {
    return command({"PUBSUB", "NUMSUB", "chat:5"}).elements.at(1).integer == 0;
  }));
  command({"PUBLISH", "chat:5", "nobody"});
  parley::testing::run_for(io_, 200ms);
  EXPECT_TRUE(messages_.empty());
  EXPECT_EQ(disconnected_, 0);
  EXPECT_EQ(ready_, 1);
}

TEST_F(bus_redis_subscriber, stop_from_inside_the_message_callback) {
  subscriber_->subscribe("chat:6");
  start_both();
  subscriber_->on_message([this](const redis::message& m) {
    messages_.push_back({"", std::string(m.channel), std::string(m.payload)});
    subscriber_->stop(); // hiredis frees the context once this callback returns
  });
  // Two messages in one read: the second must not be delivered after stop().
  publisher_->command({"PUBLISH", "chat:6", "first"}, [](error_code, auto) {});
  publisher_->command({"PUBLISH", "chat:6", "second"}, [](error_code, auto) {});
  ASSERT_TRUE(run_until(io_, [&] { return !messages_.empty(); }));
  ASSERT_TRUE(run_until(io_, [&] {
    return command({"PUBSUB", "NUMSUB", "chat:6"}).elements.at(1).integer == 0;
  }));
  EXPECT_EQ(messages_.size(), 1u);
  EXPECT_EQ(disconnected_, 0);
}

TEST_F(bus_redis_subscriber, authenticates_with_the_password_of_the_url) {
  start_both();
  EXPECT_EQ(command({"CONFIG", "SET", "requirepass", "s3cret"}).str, "OK");

  auto good = redis::parse_url("redis://:s3cret@127.0.0.1:" + std::to_string(server_.port()));
  ASSERT_TRUE(good);
  redis::subscriber authed(io_.get_executor(), *good, options_);
  redis::client authed_client(io_.get_executor(), *good, options_);
  int authed_ready = 0;
  std::vector<std::string> got;
  authed.on_ready([&] { ++authed_ready; });
  authed.on_message([&](const redis::message& m) { got.emplace_back(m.payload); });
  authed.subscribe("secret");
  authed.start();
  authed_client.start();

  auto bad = *good;
  bad.password = "wrong";
  redis::subscriber refused(io_.get_executor(), bad, options_);
  bool refused_ready = false;
  refused.on_ready([&] { refused_ready = true; });
  refused.subscribe("secret");
  refused.start();

  ASSERT_TRUE(run_until(io_, [&] { return authed_ready == 1 && authed_client.connected(); }));
  command({"PUBLISH", "secret", "for you"});
  ASSERT_TRUE(run_until(io_, [&] { return got.size() == 1; }));
  EXPECT_EQ(got[0], "for you");
  parley::testing::run_for(io_, 200ms); // a few refused attempts
  EXPECT_FALSE(refused_ready);
  EXPECT_FALSE(refused.ready());
}

} // namespace
