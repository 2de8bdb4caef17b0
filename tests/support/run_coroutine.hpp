#pragma once
// Runs a coroutine to completion on a private io_context: for tests of code that is meant
// to be awaited on an I/O thread.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace parley::testing {

template <class T> T run_coroutine(boost::asio::awaitable<T> task) {
  boost::asio::io_context context;
  auto result = boost::asio::co_spawn(context, std::move(task), boost::asio::use_future);
  context.run();
  return result.get();
}

} // namespace parley::testing
