// coalescing_socket over a real loopback TCP connection. On loopback a send's bytes are in
// the peer's receive queue when the send returns, so `available()` on the peer tells exactly
// what has been sent once the io_context has no ready handlers left.

#include "engineio/coalescing_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using parley::engineio::coalescing_socket;

class coalescing_socket_test : public ::testing::Test {
protected:
  void SetUp() override {
    tcp::acceptor acceptor(context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(context_);
    client.connect(acceptor.local_endpoint());
    peer_ = acceptor.accept();
    socket_.emplace(std::move(client));
  }

  // Starts an asynchronous write of `text` and counts its completion.
  void write(const std::string& text) {
    texts_.push_back(text);
    asio::async_write(*socket_, asio::buffer(texts_.back()),
                      [this](boost::system::error_code error, std::size_t bytes) {
                        EXPECT_FALSE(error) << error.message();
                        written_ += bytes;
                        ++completed_;
                      });
  }

  std::size_t sent() {
    context_.poll();
    context_.restart();
    return peer_.available();
  }

  std::string receive(std::size_t bytes) {
    std::string text(bytes, '\0');
    asio::read(peer_, asio::buffer(text));
    return text;
  }

  asio::io_context context_;
  tcp::socket peer_{context_};
  std::optional<coalescing_socket> socket_;
  std::deque<std::string> texts_;
  std::size_t written_ = 0;
  int completed_ = 0;
};

TEST_F(coalescing_socket_test, held_writes_complete_at_once_and_go_out_together_on_release) {
  socket_->hold();
  write("one;");
  write("two;");
  write("three;");
  EXPECT_EQ(sent(), 0U);
  EXPECT_EQ(completed_, 3); // gathered counts as written
  EXPECT_EQ(written_, 14U);
  socket_->release();
  EXPECT_EQ(sent(), 14U);
  EXPECT_EQ(receive(14), "one;two;three;");
}

TEST_F(coalescing_socket_test, holds_nest_and_only_the_last_release_sends) {
  socket_->hold();
  socket_->hold();
  write("a");
  socket_->release();
  EXPECT_EQ(sent(), 0U);
  socket_->release();
  EXPECT_EQ(sent(), 1U);
}

TEST_F(coalescing_socket_test, unheld_writes_are_sent_without_being_asked) {
  write("ping");
  write("pong");
  EXPECT_EQ(sent(), 8U);
  EXPECT_EQ(receive(8), "pingpong");
  EXPECT_EQ(completed_, 2);
}

TEST_F(coalescing_socket_test, an_abandoned_hold_sends_nothing_more) {
  socket_->hold();
  write("never");
  socket_->abandon_hold();
  EXPECT_EQ(sent(), 0U);
}

TEST_F(coalescing_socket_test, drain_completes_after_what_was_gathered_is_sent) {
  socket_->hold();
  write("held back");
  bool drained = false;
  socket_->async_drain([&](boost::system::error_code error) {
    EXPECT_FALSE(error);
    drained = true;
  });
  EXPECT_EQ(sent(), 9U); // a drain sends even while held
  EXPECT_TRUE(drained);
  socket_->release();
  EXPECT_EQ(sent(), 9U);
}

TEST_F(coalescing_socket_test, writes_after_the_socket_failed_report_the_error) {
  peer_.close();
  socket_->next_layer().shutdown(tcp::socket::shutdown_send);
  socket_->next_layer().close();
  bool failed = false;
  texts_.push_back("late");
  asio::async_write(*socket_, asio::buffer(texts_.back()),
                    [&](boost::system::error_code error, std::size_t) { failed = bool(error); });
  context_.poll();
  context_.restart();
  // The first send fails on the closed socket; later writes get its error at once.
  texts_.push_back("later");
  bool later_failed = false;
  asio::async_write(
      *socket_, asio::buffer(texts_.back()),
      [&](boost::system::error_code error, std::size_t) { later_failed = bool(error); });
  context_.poll();
  EXPECT_FALSE(failed); // it completed when gathered, before the send was tried
  EXPECT_TRUE(later_failed);
}

} // namespace
