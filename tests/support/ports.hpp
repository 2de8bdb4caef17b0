#pragma once
// A loopback port that nothing listens on (bound for a moment, then closed): for tests of a
// refused connection.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>

namespace parley::test {

inline std::uint16_t closed_loopback_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor closed(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return closed.local_endpoint().port(); // closed as `closed` goes
}

} // namespace parley::test
