// server_options::thread_state: each I/O thread makes its state before it serves anything,
// given the executor it runs, and lets it go once it is done; a state that fails to be made
// leaves the thread serving without.

#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace parley::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// What the states saw, for the test to read once the server is done.
struct ledger {
  std::mutex mutex;
  std::set<std::thread::id> made;     // guarded by mutex
  std::set<std::thread::id> released; // guarded by mutex
  std::set<std::thread::id> posted;   // guarded by mutex: where a post to the executor ran
};

thread_local bool thread_has_state = false;

struct recorded_state {
  recorded_state(ledger& book, const asio::any_io_executor& executor) : book(book) {
    thread_has_state = true;
    const std::lock_guard lock(book.mutex);
    book.made.insert(std::this_thread::get_id());
    asio::post(executor, [&book] {
      const std::lock_guard lock(book.mutex);
      book.posted.insert(std::this_thread::get_id());
    });
  }
  ~recorded_state() {
    thread_has_state = false;
    const std::lock_guard lock(book.mutex);
    book.released.insert(std::this_thread::get_id());
  }
  ledger& book;
};

// Starts a server with `threads` I/O threads and `make` as their state, asks `/state` `asks`
// times on connections of their own (spread over the threads), and returns the answers.
std::vector<std::string>
serve(std::size_t threads, std::function<std::shared_ptr<void>(const asio::any_io_executor&)> make,
      int asks) {
  router routes;
  routes.add(beast_http::verb::get, "/state",
             [](request_context& context) -> asio::awaitable<response> {
               response answer{status::ok, context.message.version()};
               answer.body() = thread_has_state ? "held" : "none";
               answer.prepare_payload();
               co_return answer;
             });
  metrics counters;
  server_options options;
  options.port = 0;
  options.threads = threads;
  options.thread_state = std::move(make);
  server running(options, routes, counters);
  running.start();
  std::vector<std::string> answers;
  asio::io_context io;
  for (int ask = 0; ask < asks; ++ask) {
    tcp::socket socket(io);
    asio::connect(socket, tcp::resolver(io).resolve("127.0.0.1", std::to_string(running.port())));
    request message{beast_http::verb::get, "/state", 11};
    message.set(beast_http::field::host, "127.0.0.1");
    beast_http::write(socket, message);
    boost::beast::flat_buffer buffer;
    beast_http::response<beast_http::string_body> answer;
    beast_http::read(socket, buffer, answer);
    answers.push_back(answer.body());
  }
  running.stop();
  running.wait();
  return answers;
}

TEST(server_thread_state, each_io_thread_holds_its_state_while_it_serves_and_lets_it_go_after) {
  ledger book;
  const auto answers = serve(
      2,
      [&book](const asio::any_io_executor& executor) {
        return std::make_shared<recorded_state>(book, executor);
      },
      8);
  EXPECT_EQ(answers, (std::vector<std::string>(8, "held")));
  const std::lock_guard lock(book.mutex);
  EXPECT_EQ(book.made.size(), 2U); // one per thread, on that thread
  EXPECT_EQ(book.released, book.made);
  EXPECT_EQ(book.made.count(std::this_thread::get_id()), 0U);
  EXPECT_EQ(book.posted, book.made); // the executor given is the thread's own
}

TEST(server_thread_state, a_state_that_cannot_be_made_leaves_the_thread_serving_without) {
  const auto answers = serve(
      1,
      [](const asio::any_io_executor&) -> std::shared_ptr<void> {
        throw std::runtime_error("no state today");
      },
      2);
  EXPECT_EQ(answers, (std::vector<std::string>(2, "none")));
}

// What an I/O thread posts to its own executor runs before what another thread posts to it
// afterwards: an event handed to a socket of the thread, then an HTTP answer, then the next
// request served on another thread handing that socket another event, keep their order.
TEST(server_io_threads, run_posts_in_the_order_they_were_made_from_whichever_thread) {
  router routes;
  metrics counters;
  server_options options;
  options.port = 0;
  options.threads = 1;
  server running(options, routes, counters);
  running.start();
  const auto executor = running.next_executor();
  std::string order; // written on the I/O thread only
  std::promise<std::string> both;
  const auto ran = [&](char which) {
    order += which;
    if (order.size() == 2) {
      both.set_value(order);
    }
  };
  asio::post(executor, [&] {
    asio::post(executor, [&] { ran('A'); }); // from the I/O thread itself, first
    std::thread other([&] { asio::post(executor, [&] { ran('B'); }); });
    other.join(); // posted from elsewhere, after
  });
  EXPECT_EQ(both.get_future().get(), "AB");
  running.stop();
  running.wait();
}

} // namespace
} // namespace parley::http
