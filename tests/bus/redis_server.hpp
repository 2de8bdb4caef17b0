#pragma once
// A private redis-server for a test: started on a free port of 127.0.0.1 in a temporary
// directory, killed by PID in the destructor. It can be killed, restarted on the same port,
// paused (SIGSTOP: accepts TCP, answers nothing) and resumed.
//
// Also: run_until(), which runs an io_context until a condition holds or a deadline passes.

#include "bus/redis.hpp"
#include "support/temporary_directory.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace parley::testing {

// Runs `context` until `done()` or `limit` has passed; true if `done()`.
template <class Predicate>
bool run_until(boost::asio::io_context& context, Predicate done,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto guard = boost::asio::make_work_guard(context);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    if (context.stopped())
      context.restart();
    context.run_one_until(deadline);
  }
  return true;
}

// Runs `context` for `duration` (to watch that nothing happens).
inline void run_for(boost::asio::io_context& context, std::chrono::milliseconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  run_until(
      context, [&] { return std::chrono::steady_clock::now() >= deadline; }, duration);
}

class redis_server {
public:
  redis_server() {
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      if (try_start())
        return;
      if (attempt == 4)
        throw std::runtime_error("redis-server did not start; see " + log());
    }
  }
  ~redis_server() { kill(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] bus::redis::endpoint where() const {
    bus::redis::endpoint e;
    e.host = "127.0.0.1";
    e.port = port_;
    return e;
  }
  [[nodiscard]] std::string log() const { return directory_.file("redis.log"); }

  // SIGKILL, and wait for the process to be gone (its sockets closed).
  void kill() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Starts again on the same port (Redis sets SO_REUSEADDR).
  void restart() {
    kill();
    for (int attempt = 0; attempt < 5; ++attempt)
      if (try_start())
        return;
    throw std::runtime_error("redis-server did not restart; see " + log());
  }

  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

private:
  static std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("no free port");
    ::close(fd);
    return ntohs(address.sin_port);
  }

  // Spawns redis-server and polls it (bounded) until it answers PING.
  bool try_start() {
    std::vector<std::string> args{"redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  directory_.path().string(),
                                  "--pidfile",
                                  directory_.file("redis.pid"),
                                  "--logfile",
                                  log(),
                                  "--daemonize",
                                  "no"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot run redis-server (apt-get install redis-server)");
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) { // it exited: port taken?
        pid_ = -1;
        return false;
      }
      if (answers())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling another process
    }
    kill();
    return false;
  }

  [[nodiscard]] bool answers() const {
    timeval timeout{0, 200'000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      redisSetTimeout(c, timeout);
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = r != nullptr && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG";
      if (r != nullptr)
        freeReplyObject(r);
    }
    if (c != nullptr)
      redisFree(c);
    return ok;
  }

  temporary_directory directory_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

} // namespace parley::testing
