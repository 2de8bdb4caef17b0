// redis::client against real redis-server processes.

#include "bus/redis.hpp"
#include "bus/redis_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace asio = boost::asio;
namespace redis = parley::bus::redis;
using boost::system::error_code;
using namespace std::chrono_literals;
using parley::testing::redis_server;
using parley::testing::run_until;

namespace {

struct outcome {
  bool done = false;
  error_code ec;
  redis::reply reply;
};

// Sends a command; the outcome fills in when it completes.
std::shared_ptr<outcome> send(redis::client& c, std::vector<std::string> args) {
  auto out = std::make_shared<outcome>();
  c.command(std::move(args), [out](error_code ec, redis::reply r) {
    out->done = true;
    out->ec = ec;
    out->reply = std::move(r);
  });
  return out;
}

redis::options fast_options() {
  redis::options o;
  o.connect_timeout = 1000ms;
  o.command_timeout = 1000ms;
  o.ping_interval = 100ms;
  o.ping_timeout = 400ms;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  return o;
}

class bus_redis_client : public ::testing::Test {
protected:
  bus_redis_client() {
    client_.on_connected([this] { ++connected_; });
    client_.on_disconnected([this](error_code ec) {
      ++disconnected_;
      last_disconnect_ = ec;
    });
  }

  outcome run(std::vector<std::string> args) {
    auto out = send(client_, std::move(args));
    EXPECT_TRUE(run_until(io_, [&] { return out->done; }));
    return *out;
  }

  void start_and_wait() {
    client_.start();
    ASSERT_TRUE(run_until(io_, [&] { return client_.connected(); }));
  }

  redis_server server_;
  asio::io_context io_;
  redis::options options_ = fast_options();
  redis::client client_{io_.get_executor(), server_.where(), options_};
  int connected_ = 0;
  int disconnected_ = 0;
  error_code last_disconnect_;
};

TEST_F(bus_redis_client, replies_of_every_kind) {
  start_and_wait();
  EXPECT_EQ(connected_, 1);

  const std::string key("k\0ey", 4);
  const std::string value("a\0b\r\n\0", 6);
  auto set = run({"SET", key, value});
  ASSERT_FALSE(set.ec) << set.ec.message();
  EXPECT_TRUE(set.reply.is_status());
  EXPECT_EQ(set.reply.str, "OK");

  auto get = run({"GET", key});
  ASSERT_FALSE(get.ec);
  ASSERT_TRUE(get.reply.is_string());
  EXPECT_EQ(get.reply.str, value);
  EXPECT_EQ(get.reply.str.size(), 6u);

  auto missing = run({"GET", "no-such-key"});
  ASSERT_FALSE(missing.ec);
  EXPECT_TRUE(missing.reply.is_nil());

  auto incr = run({"INCRBY", "counter", "-42"});
  ASSERT_TRUE(incr.reply.is_integer());
  EXPECT_EQ(incr.reply.integer, -42);

  run({"RPUSH", "list", "one", "", value});
  auto range = run({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(range.reply.is_array());
  ASSERT_EQ(range.reply.elements.size(), 3u);
  EXPECT_EQ(range.reply.elements[0].str, "one");
  EXPECT_EQ(range.reply.elements[1].str, "");
  EXPECT_EQ(range.reply.elements[2].str, value);

  auto nested = run({"EVAL", "return {1, 'x', {2, false}}", "0"});
  ASSERT_TRUE(nested.reply.is_array());
  ASSERT_EQ(nested.reply.elements.size(), 3u);
  EXPECT_EQ(nested.reply.elements[0].integer, 1);
  ASSERT_TRUE(nested.reply.elements[2].is_array());
  EXPECT_TRUE(nested.reply.elements[2].elements[1].is_nil());

  auto unknown = run({"NO-SUCH-COMMAND"});
  ASSERT_FALSE(unknown.ec) << "an error reply is a reply";
  ASSERT_TRUE(unknown.reply.is_error());
  EXPECT_TRUE(unknown.reply.str.starts_with("ERR")) << unknown.reply.str;

  auto wrong_type = run({"INCR", "list"});
  ASSERT_TRUE(wrong_type.reply.is_error());
  EXPECT_TRUE(wrong_type.reply.str.starts_with("WRONGTYPE")) << wrong_type.reply.str;

  // The connection is still good after error replies.
  EXPECT_EQ(run({"PING"}).reply.str, "PONG");
  EXPECT_EQ(disconnected_, 0);
}

TEST_F(bus_redis_client, pipelined_commands_answer_in_order) {
  start_and_wait();
  std::vector<std::shared_ptr<outcome>> outs;
  for (int i = 0; i < 500; ++i)
    outs.push_back(send(client_, {"INCR", "seq"}));
  ASSERT_TRUE(run_until(io_, [&] { return outs.back()->done; }));
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(outs[i]->done);
    ASSERT_FALSE(outs[i]->ec);
    EXPECT_EQ(outs[i]->reply.integer, i + 1);
  }
}

TEST_F(bus_redis_client, works_with_coroutines) {
  start_and_wait();
  std::optional<std::string> got;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        // (Named vectors: g++ 12 miscompiles braced lists inside co_await expressions.)
        std::vector<std::string> set{"SET", "co", "routine"}, get{"GET", "co"},
            get_missing{"GET", "nope"};
        co_await client_.command(std::move(set), asio::use_awaitable);
        auto r = co_await client_.command(std::move(get), asio::use_awaitable);
        auto [ec, missing] =
            co_await client_.command(std::move(get_missing), asio::as_tuple(asio::use_awaitable));
        got = r.str + (missing.is_nil() && !ec ? "+nil" : "");
      },
      asio::detached);
  ASSERT_TRUE(run_until(io_, [&] { return got.has_value(); }));
  EXPECT_EQ(*got, "routine+nil");
}

TEST_F(bus_redis_client, refuses_what_it_cannot_send) {
  auto early = run({"PING"}); // not started yet
  EXPECT_EQ(early.ec, redis::error::not_connected);
  start_and_wait();
  EXPECT_EQ(run({}).ec, redis::error::invalid_argument);
  EXPECT_EQ(run({"subscribe", "x"}).ec, redis::error::unsupported_command);
  EXPECT_EQ(run({"MONITOR"}).ec, redis::error::unsupported_command);
  EXPECT_EQ(run({"CLIENT", "REPLY", "OFF"}).ec, redis::error::unsupported_command);
  EXPECT_EQ(run({"PING"}).reply.str, "PONG");
}

TEST_F(bus_redis_client, selects_the_database_of_the_url) {
  auto where = redis::parse_url(server_.url() + "/2");
  ASSERT_TRUE(where);
  redis::client other(io_.get_executor(), *where, options_);
  other.start();
  start_and_wait();
  ASSERT_TRUE(run_until(io_, [&] { return other.connected(); }));
  auto set = send(other, {"SET", "in-two", "yes"});
  ASSERT_TRUE(run_until(io_, [&] { return set->done; }));
  EXPECT_TRUE(run({"GET", "in-two"}).reply.is_nil());
  EXPECT_EQ(run({"SELECT", "2"}).reply.str, "OK");
  EXPECT_EQ(run({"GET", "in-two"}).reply.str, "yes");
}

TEST_F(bus_redis_client, stop_fails_pending_commands) {
  start_and_wait();
  auto pending = send(client_, {"BLPOP", "never", "0"});
  auto later = send(client_, {"PING"});
  client_.stop();
  ASSERT_TRUE(run_until(io_, [&] { return pending->done && later->done; }));
  EXPECT_EQ(pending->ec, redis::error::stopped);
  EXPECT_EQ(later->ec, redis::error::stopped);
  EXPECT_EQ(run({"PING"}).ec, redis::error::stopped);
  EXPECT_EQ(disconnected_, 0) << "no callbacks after stop()";
}

TEST_F(bus_redis_client, reconnects_after_the_server_restarts) {
  start_and_wait();
  ASSERT_EQ(run({"SET", "k", "v"}).reply.str, "OK");

  // A command in flight when the server dies fails (it does not hang).
  server_.pause();
  auto in_flight = send(client_, {"GET", "k"});
  server_.kill();
  ASSERT_TRUE(run_until(
      io_, [&] { return in_flight->done; }, 5s));
  EXPECT_EQ(in_flight->ec, redis::error::connection_lost) << in_flight->ec.message();
  ASSERT_TRUE(run_until(io_, [&] { return disconnected_ == 1; }));
  EXPECT_FALSE(client_.connected());

  // During the outage commands fail at once.
  auto outage = run({"GET", "k"});
  EXPECT_EQ(outage.ec, redis::error::not_connected);
  parley::testing::run_for(io_, 300ms); // a few failed reconnection attempts
  EXPECT_EQ(connected_, 1);

  server_.restart();
  ASSERT_TRUE(run_until(io_, [&] { return connected_ == 2; }));
  EXPECT_TRUE(run({"GET", "k"}).reply.is_nil()) << "a fresh server (no persistence)";
  EXPECT_EQ(run({"SET", "k", "again"}).reply.str, "OK");
  EXPECT_EQ(run({"GET", "k"}).reply.str, "again");
}

TEST_F(bus_redis_client, command_timeout_recycles_the_connection) {
  options_.ping_interval = 10s; // the command's own timeout, not the PING's
  redis::client slow(io_.get_executor(), server_.where(), options_);
  int connected = 0, disconnected = 0;
  error_code why;
  slow.on_connected([&] { ++connected; });
  slow.on_disconnected([&](error_code ec) {
    ++disconnected;
    why = ec;
  });
  slow.start();
  ASSERT_TRUE(run_until(io_, [&] { return connected == 1; }));

  server_.pause(); // TCP still accepts and buffers; nothing answers
  auto started = std::chrono::steady_clock::now();
  auto first = send(slow, {"GET", "a"});
  auto second = send(slow, {"GET", "b"});
  ASSERT_TRUE(run_until(
      io_, [&] { return first->done && second->done; }, 5s));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(first->ec, redis::error::timeout);
  EXPECT_EQ(second->ec, redis::error::timeout);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  ASSERT_TRUE(run_until(io_, [&] { return disconnected == 1; }));
  EXPECT_EQ(why, redis::error::timeout);

  server_.resume();
  ASSERT_TRUE(run_until(
      io_, [&] { return connected == 2; }, 10s));
  auto after = send(slow, {"PING"});
  ASSERT_TRUE(run_until(io_, [&] { return after->done; }));
  EXPECT_EQ(after->reply.str, "PONG");
}

TEST_F(bus_redis_client, ping_notices_a_stalled_server_without_traffic) {
  start_and_wait();
  server_.pause();
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io_, [&] { return disconnected_ == 1; }, 5s));
  EXPECT_EQ(last_disconnect_, redis::error::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  server_.resume();
  ASSERT_TRUE(run_until(
      io_, [&] { return connected_ == 2; }, 10s));
}

TEST_F(bus_redis_client, server_that_never_answers_is_retried) {
  // A listening socket whose connections are accepted and never read.
  asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> accepted;
  std::function<void()> accept_next = [&] {
    auto socket = std::make_unique<asio::ip::tcp::socket>(io_);
    auto& s = *socket;
    acceptor.async_accept(s, [&, socket = std::move(socket)](error_code ec) mutable {
      if (ec)
        return;
      accepted.push_back(std::move(socket));
      accept_next();
    });
  };
  accept_next();

  redis::endpoint where;
  where.port = acceptor.local_endpoint().port();
  options_.connect_timeout = 200ms;
  redis::client mute(io_.get_executor(), where, options_);
  bool ever_connected = false;
  mute.on_connected([&] { ever_connected = true; });
  mute.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return accepted.size() >= 3; }, 5s))
      << "the handshake timeout should recycle the connection";
  EXPECT_FALSE(ever_connected);
  auto refused = send(mute, {"PING"});
  ASSERT_TRUE(run_until(io_, [&] { return refused->done; }));
  EXPECT_EQ(refused->ec, redis::error::not_connected);
  mute.stop();
  acceptor.close();
}

TEST_F(bus_redis_client, nothing_listening) {
  redis::endpoint where;
  where.port = server_.port();
  server_.kill();
  redis::client lonely(io_.get_executor(), where, options_);
  lonely.start();
  parley::testing::run_for(io_, 300ms);
  EXPECT_FALSE(lonely.connected());
  server_.restart();
  ASSERT_TRUE(run_until(io_, [&] { return lonely.connected(); }));
}

} // namespace
