#include "engineio/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace parley::engineio {
namespace {

namespace asio = boost::asio;

// Records what the session tells the layer above.
class recording_handler final : public session_handler {
public:
  void on_open(const std::shared_ptr<session>&) override {}
  void on_message(const std::shared_ptr<session>&, packet&& message) override {
    messages.push_back(std::move(message));
  }
  void on_close(const std::shared_ptr<session>&, close_reason reason) override {
    closed = reason;
  }
  std::vector<packet> messages;
  std::optional<close_reason> closed;
};

class session_test : public ::testing::Test {
protected:
  asio::io_context context_;
  options options_;
  recording_handler handler_;
  bool forgotten_ = false;

  std::shared_ptr<session> open(options settings = {}) {
    options_ = settings;
    auto created = std::make_shared<session>("sid", context_.get_executor(), options_, handler_,
                                             handshake{}, session::transport::polling,
                                             [this](const std::string&) { forgotten_ = true; });
    created->start();
    return created;
  }

  // Runs handlers until `done` is ready; fails instead of spinning when nothing is left to run.
  template <class T> void run_until(std::future<T>& done) {
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (context_.stopped()) {
        context_.restart();
      }
      ASSERT_NE(context_.run_one(), 0U) << "nothing left to run, and the result is not there";
    }
  }

  template <class T> T run(asio::awaitable<T> task) {
    auto result = asio::co_spawn(context_, std::move(task), asio::use_future);
    run_until(result);
    return result.get();
  }

  // Runs the session's handlers until a timer of `delay` completes: handlers of timers that
  // expire earlier (the heartbeat's) run first.
  void wait_for(std::chrono::milliseconds delay) {
    asio::steady_timer later(context_, delay);
    auto waited = later.async_wait(asio::use_future);
    run_until(waited);
  }

  static options heartbeat(int interval_ms, int timeout_ms) {
    options settings;
    settings.ping_interval = std::chrono::milliseconds(interval_ms);
    settings.ping_timeout = std::chrono::milliseconds(timeout_ms);
    return settings;
  }

  void run_until_closed() {
    while (!handler_.closed) {
      if (context_.stopped()) {
        context_.restart();
      }
      ASSERT_NE(context_.run_one(), 0U);
    }
  }
};

TEST_F(session_test, the_open_packet_announces_the_settings) {
  options settings;
  settings.ping_interval = std::chrono::milliseconds(300);
  settings.ping_timeout = std::chrono::milliseconds(200);
  auto live = std::make_shared<session>("abc", context_.get_executor(), settings, handler_,
                                        handshake{}, session::transport::polling, nullptr);
  EXPECT_EQ(live->start(), R"({"sid":"abc","upgrades":["websocket"],"pingInterval":300,)"
                           R"("pingTimeout":200,"maxPayload":1000000})");
  live->close();
}

TEST_F(session_test, a_poll_answers_with_every_queued_packet) {
  auto live = open();
  live->send(packet{packet_type::message, "hello", false});
  live->send(packet{packet_type::message, std::string("\x01\x02", 2), true});
  const auto answer = run(live->poll());
  EXPECT_EQ(answer.what, poll_answer::kind::ok);
  EXPECT_EQ(answer.body, "4hello\x1e" "bAQI=");
  live->close();
}

TEST_F(session_test, a_poll_answers_with_at_most_sixteen_packets) {
  auto live = open();
  for (int index = 0; index < 20; ++index) {
    live->send(packet{packet_type::message, std::to_string(index), false});
  }
  const auto first = run(live->poll());
  EXPECT_EQ(std::count(first.body.begin(), first.body.end(), '\x1e'), 15);
  EXPECT_TRUE(first.body.starts_with("40\x1e" "41\x1e"));
  const auto second = run(live->poll());
  EXPECT_EQ(second.body, "416\x1e" "417\x1e" "418\x1e" "419");
  live->close();
}

TEST_F(session_test, posted_messages_reach_the_handler_in_order) {
  auto live = open();
  const auto answer = run(live->receive("4one\x1e" "4two\x1e" "bAQI="));
  EXPECT_EQ(answer.body, "ok");
  ASSERT_EQ(handler_.messages.size(), 3U);
  EXPECT_EQ(handler_.messages[0].data, "one");
  EXPECT_EQ(handler_.messages[1].data, "two");
  EXPECT_TRUE(handler_.messages[2].binary);
  live->close();
}

TEST_F(session_test, a_malformed_payload_closes_the_session) {
  auto live = open();
  const auto answer = run(live->receive("9what"));
  EXPECT_EQ(answer.what, poll_answer::kind::bad_request);
  EXPECT_EQ(handler_.closed, close_reason::parse_error);
  EXPECT_TRUE(forgotten_);
  EXPECT_EQ(run(live->poll()).what, poll_answer::kind::unknown_session);
}

TEST_F(session_test, a_client_ping_is_a_protocol_error) {
  auto live = open();
  (void)run(live->receive("2"));
  EXPECT_EQ(handler_.closed, close_reason::protocol_error);
}

TEST_F(session_test, a_client_close_ends_a_waiting_poll_with_noop) {
  auto live = open();
  auto waiting = asio::co_spawn(context_, live->poll(), asio::use_future);
  context_.poll(); // the GET is now waiting
  auto closing = asio::co_spawn(context_, live->receive("1"), asio::use_future);
  run_until(waiting);
  run_until(closing);
  EXPECT_EQ(waiting.get().body, "6");
  EXPECT_EQ(closing.get().body, "ok");
  EXPECT_EQ(handler_.closed, close_reason::client_close);
  // That GET had its noop: the id is unknown from now on.
  EXPECT_TRUE(forgotten_);
  EXPECT_EQ(run(live->poll()).what, poll_answer::kind::unknown_session);
}

TEST_F(session_test, two_polls_at_once_end_the_session) {
  auto live = open();
  auto first = asio::co_spawn(context_, live->poll(), asio::use_future);
  context_.poll();
  const auto second = run(live->poll());
  EXPECT_EQ(second.what, poll_answer::kind::bad_request);
  run_until(first);
  EXPECT_EQ(first.get().body, "1"); // the waiting GET carries the close packet
  EXPECT_EQ(handler_.closed, close_reason::protocol_error);
}

TEST_F(session_test, a_server_close_goes_out_with_the_next_poll) {
  auto live = open();
  live->send(packet{packet_type::message, "bye", false});
  live->close();
  EXPECT_FALSE(handler_.closed); // not before the client has it
  const auto answer = run(live->poll());
  EXPECT_EQ(answer.body, "4bye\x1e" "1");
  EXPECT_EQ(handler_.closed, close_reason::server_close);
}

TEST_F(session_test, a_client_that_does_not_answer_pings_is_dropped) {
  auto live = open(heartbeat(20, 20));
  run_until_closed();
  EXPECT_EQ(handler_.closed, close_reason::ping_timeout);
}

TEST_F(session_test, a_get_read_after_the_ping_deadline_finds_the_session_gone) {
  auto live = open(heartbeat(10, 10));
  EXPECT_EQ(run(live->poll()).body, "2");
  // The GET comes after the deadline (a timer past it completes first); whichever of the
  // heartbeat and the GET the server handles first, the GET finds the session gone.
  wait_for(std::chrono::milliseconds(30));
  EXPECT_EQ(run(live->poll()).what, poll_answer::kind::unknown_session);
  EXPECT_EQ(handler_.closed, close_reason::ping_timeout);
}

TEST_F(session_test, a_client_that_answers_pings_stays) {
  auto live = open(heartbeat(10, 200));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(run(live->poll()).body, "2");
    EXPECT_EQ(run(live->receive("3")).body, "ok");
  }
  EXPECT_FALSE(handler_.closed);
  live->close();
}

TEST_F(session_test, a_client_still_sending_is_not_dropped_while_its_pong_is_late) {
  // The pong is behind what the client sent, unread by a busy server: what the server hears
  // from the client proves it alive, and the pings keep coming on time meanwhile.
  // A ping timeout far longer than the step from one statement to the next.
  auto live = open(heartbeat(10, 400));
  EXPECT_EQ(run(live->poll()).body, "2");
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(run(live->receive("4busy")).body, "ok");
    // Past the ping's deadline: not a close packet but the next ping.
    EXPECT_EQ(run(live->poll()).body, "2") << "round " << round;
  }
  EXPECT_EQ(run(live->receive("3")).body, "ok");
  EXPECT_FALSE(handler_.closed);
  // Silent from now on (no pong to the next ping, nothing else): dropped.
  EXPECT_EQ(run(live->poll()).body, "2");
  EXPECT_EQ(run(live->poll()).body, "1");
  EXPECT_EQ(handler_.closed, close_reason::ping_timeout);
}

TEST_F(session_test, a_ping_goes_ahead_of_queued_messages) {
  auto live = open(heartbeat(10, 1000));
  for (int index = 0; index < 20; ++index) {
    live->send(packet{packet_type::message, std::to_string(index), false});
  }
  // Past the ping interval without polling: the heartbeat's timer expires first.
  wait_for(std::chrono::milliseconds(30));
  const auto answer = run(live->poll());
  EXPECT_TRUE(answer.body.starts_with("2\x1e" "40\x1e" "41\x1e")) << answer.body;
  live->close();
}

TEST_F(session_test, a_get_behind_the_client_close_gets_a_noop_once) {
  // The client sent its GET, then "1" on another connection, and the POST was read first.
  auto live = open();
  EXPECT_EQ(run(live->receive("1")).body, "ok");
  EXPECT_EQ(handler_.closed, close_reason::client_close);
  EXPECT_FALSE(forgotten_);
  const auto late = run(live->poll());
  EXPECT_EQ(late.what, poll_answer::kind::ok);
  EXPECT_EQ(late.body, "6");
  EXPECT_TRUE(forgotten_);
  EXPECT_EQ(run(live->poll()).what, poll_answer::kind::unknown_session);
  EXPECT_EQ(run(live->receive("4x")).what, poll_answer::kind::unknown_session);
}

TEST_F(session_test, an_unclaimed_noop_is_forgotten_after_the_ping_timeout) {
  options quick;
  quick.ping_timeout = std::chrono::milliseconds(10);
  auto live = open(quick);
  EXPECT_EQ(run(live->receive("1")).body, "ok");
  while (!forgotten_) {
    ASSERT_NE(context_.run_one(), 0U);
  }
  EXPECT_EQ(run(live->poll()).what, poll_answer::kind::unknown_session);
}

TEST_F(session_test, an_overflowing_queue_closes_the_session) {
  options small;
  small.max_queued_packets = 3;
  auto live = open(small);
  for (int index = 0; index < 4; ++index) {
    live->send(packet{packet_type::message, "x", false});
  }
  EXPECT_EQ(handler_.closed, close_reason::overflow);
  EXPECT_FALSE(live->is_open());
}

} // namespace
} // namespace parley::engineio
