#pragma once
// Helpers shared by the sms tests: a network thread like the server's outbound one, a way
// to run an awaitable on a caller's io_context, and the capture of the log.

#include "support/log_capture.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>

namespace parley::sms::test_support {

/// An io_context run by its own thread once start() is called; what the server gives the
/// senders for their network calls.
class network_thread {
public:
  enum class start_mode { now, later };

  explicit network_thread(start_mode mode = start_mode::now)
      : guard_(boost::asio::make_work_guard(context_)) {
    if (mode == start_mode::now) {
      start();
    }
  }
  ~network_thread() {
    guard_.reset();
    context_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  network_thread(const network_thread&) = delete;
  network_thread& operator=(const network_thread&) = delete;

  void start() {
    thread_ = std::thread([this] { context_.run(); });
  }
  [[nodiscard]] boost::asio::any_io_executor executor() { return context_.get_executor(); }
  [[nodiscard]] std::thread::id thread_id() const { return thread_.get_id(); }

private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

/// Runs `task` on a fresh io_context driven by this thread, the caller's, until it ends.
// The caller's io_context lives as long as the thread: the network thread's side of a call
// (the co_spawn that resumes the caller) still holds a copy of the caller's executor for a
// moment after the caller has its result, so it must not be destroyed with the call.
template <class T> T run_on_caller(boost::asio::awaitable<T> task) {
  static thread_local boost::asio::io_context caller;
  caller.restart();
  auto result = boost::asio::co_spawn(caller, std::move(task), boost::asio::use_future);
  caller.run();
  return result.get();
}

using testing::log_capture;

} // namespace parley::sms::test_support
