#include "engineio/coalescing_socket.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/write.hpp>

namespace parley::engineio {

namespace asio = boost::asio;

void coalescing_socket::state::complete(write_handler handler, boost::system::error_code error,
                                        std::size_t size) {
  // Never inline: the caller is inside the initiating function.
  asio::post(socket.get_executor(), asio::append(std::move(handler), error, size));
}

coalescing_socket::gather_outcome coalescing_socket::state::settle() {
  if (failure) { // an earlier send failed: nothing more goes out
    gathered.clear();
    return gather_outcome::failed;
  }
  if (gathered.size() >= k_high_water) {
    if (sending) { // wait for the send in progress: the peer is slower than we write
      return gather_outcome::full;
    }
    send(); // held for long: send what is there so far
  } else if (holds == 0) {
    schedule_send();
  }
  return gather_outcome::ok;
}

void coalescing_socket::state::write(write_handler handler, std::size_t size) {
  switch (settle()) {
  case gather_outcome::failed:
    complete(std::move(handler), failure, 0);
    return;
  case gather_outcome::full:
    waiting.emplace_back(std::move(handler), size);
    return;
  case gather_outcome::ok:
    complete(std::move(handler), {}, size);
    return;
  }
}

coalescing_socket::gather_outcome
coalescing_socket::state::gather(std::initializer_list<std::string_view> pieces) {
  for (const auto piece : pieces) {
    gathered.append(piece);
  }
  return settle();
}

void coalescing_socket::state::schedule_send() {
  if (send_posted) {
    return;
  }
  send_posted = true;
  asio::post(socket.get_executor(), [self = shared_from_this()] {
    self->send_posted = false;
    self->send();
  });
}

void coalescing_socket::state::send() {
  if (sending || failure || gathered.empty()) {
    return;
  }
  if (socket.non_blocking()) {
    // The kernel usually takes it all at once: no operation, no completion to post. (Only on
    // a non-blocking socket: the WebSocket sets it once its handshake is accepted.)
    boost::system::error_code error;
    const auto written = socket.write_some(asio::buffer(gathered), error);
    if (error && error != asio::error::would_block && error != asio::error::try_again) {
      sending = true; // what sent() expects: it ends this send with the error
      sent(error);
      return;
    }
    gathered.erase(0, error ? 0 : written);
    if (gathered.empty()) {
      std::string().swap(gathered); // an idle connection keeps no send buffer
      sending = true;
      sent({});
      return;
    }
  }
  sending = true;
  in_flight.swap(gathered);
  asio::async_write(socket, asio::buffer(in_flight),
                    [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                      self->sent(error);
                    });
}

void coalescing_socket::state::sent(boost::system::error_code error) {
  sending = false;
  // Give the memory back: an idle connection keeps no send buffer.
  std::string().swap(in_flight);
  if (error) {
    failure = error;
    std::string().swap(gathered);
  }
  auto released = std::move(waiting);
  waiting.clear();
  for (auto& [handler, size] : released) {
    complete(std::move(handler), failure, failure ? 0 : size);
  }
  if (!failure && !gathered.empty() &&
      (holds == 0 || gathered.size() >= k_high_water || !draining.empty())) {
    send();
    return;
  }
  if (failure || gathered.empty()) {
    auto drained = std::move(draining);
    draining.clear();
    for (auto& handler : drained) {
      asio::post(socket.get_executor(), asio::append(std::move(handler), failure));
    }
  }
}

void coalescing_socket::state::drain(drain_handler handler) {
  if (!sending && gathered.empty()) {
    asio::post(socket.get_executor(), asio::append(std::move(handler), failure));
    return;
  }
  draining.push_back(std::move(handler));
  send();
}

} // namespace parley::engineio
