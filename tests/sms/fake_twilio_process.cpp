#include "sms/fake_twilio_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PARLEY_SOURCE_DIR
#error "PARLEY_SOURCE_DIR must name the source tree (see tests/sms/CMakeLists.txt)"
#endif

extern char** environ;

namespace parley::sms::test_support {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

http::response<http::string_body> exchange(std::uint16_t port, http::verb method,
                                           std::string_view target, std::string body) {
  boost::asio::io_context context;
  boost::asio::ip::tcp::socket socket(context);
  socket.connect({boost::asio::ip::address_v4::loopback(), port});
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
  }
  request.prepare_payload();
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return response;
}

} // namespace

fake_twilio_process::fake_twilio_process(fake_twilio_options options)
    : options_(std::move(options)) {
  const std::string script = std::string(PARLEY_SOURCE_DIR) + "/tests/e2e/fake_twilio.py";
  std::vector<std::string> arguments{"/usr/bin/python3",     script,
                                     "--account-sid",        options_.account_sid,
                                     "--auth-token",         options_.auth_token,
                                     "--phone-number",       options_.phone_number,
                                     "--verify-service-sid", options_.verify_service_sid,
                                     "--exit-on-stdin-eof"};
  std::vector<char*> argv;
  for (auto& argument : arguments) {
    argv.push_back(argument.data());
  }
  argv.push_back(nullptr);

  // stdout tells us the port; stdin stays open while we live, so the fake exits with us
  // even when a crash skips the destructor.
  std::array<int, 2> pipe_ends{};
  std::array<int, 2> lifeline{};
  if (pipe2(pipe_ends.data(), O_CLOEXEC) != 0 || pipe2(lifeline.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, lifeline[0], STDIN_FILENO);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_ends[1]);
  close(lifeline[0]);
  lifeline_ = lifeline[1];
  if (spawned != 0) {
    close(pipe_ends[0]);
    close(lifeline_);
    throw std::runtime_error("cannot start /usr/bin/python3");
  }

  FILE* output = fdopen(pipe_ends[0], "r");
  std::array<char, 128> line{};
  const bool got_line = output != nullptr && std::fgets(line.data(), line.size(), output);
  if (output != nullptr) {
    std::fclose(output);
  }
  unsigned port = 0;
  if (!got_line || std::sscanf(line.data(), "listening %u", &port) != 1 || port == 0 ||
      port > 65535) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    close(lifeline_);
    throw std::runtime_error("fake_twilio.py did not print `listening <port>`");
  }
  port_ = static_cast<std::uint16_t>(port);
}

fake_twilio_process::~fake_twilio_process() {
  if (lifeline_ >= 0) {
    close(lifeline_);
  }
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

std::string fake_twilio_process::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

boost::json::value fake_twilio_process::control_get(std::string_view name) const {
  const auto response = exchange(port_, http::verb::get, "/_fake/" + std::string(name), {});
  return boost::json::parse(response.body());
}

void fake_twilio_process::control_post(std::string_view name,
                                       const boost::json::object& arguments) const {
  const auto response = exchange(port_, http::verb::post, "/_fake/" + std::string(name),
                                 boost::json::serialize(arguments));
  if (response.result_int() != 200) {
    throw std::runtime_error("fake_twilio.py refused control " + std::string(name));
  }
}

void fake_twilio_process::set_next_error(int status, int code, std::string_view message) const {
  boost::json::object arguments{{"status", status}};
  if (code != 0) {
    arguments["code"] = code;
  }
  if (!message.empty()) {
    arguments["message"] = message;
  }
  control_post("next_error", arguments);
}

} // namespace parley::sms::test_support
