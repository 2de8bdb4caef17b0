#pragma once
// A private redis-server for a test: started on a free port of 127.0.0.1 in a temporary
// directory (ready when it says so on a systemd-style notify socket: Debian's redis-server is
// built with systemd support), killed by PID in the destructor. It can be killed, restarted
// on the same port, paused (SIGSTOP: accepts TCP, answers nothing) and resumed.
//
// Also: run_until(), which runs an io_context until a condition holds or a deadline passes.

#include "bus/redis.hpp"
#include "support/temporary_directory.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
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

  // Closes a descriptor when it goes out of scope.
  struct descriptor {
    int fd = -1;
    ~descriptor() {
      if (fd >= 0)
        ::close(fd);
    }
  };

  // Spawns redis-server supervised as by systemd: once it accepts connections it sends
  // READY=1 to the datagram socket named by NOTIFY_SOCKET. Waits (bounded) for that message or
  // for the process's exit (its pidfd), whichever comes first; false when it exited.
  bool try_start() {
    const auto notify_path = directory_.file("notify");
    descriptor notify{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    sockaddr_un notify_address{};
    notify_address.sun_family = AF_UNIX;
    if (notify.fd < 0 || notify_path.size() >= sizeof notify_address.sun_path)
      throw std::runtime_error("no notify socket at " + notify_path);
    std::memcpy(notify_address.sun_path, notify_path.c_str(), notify_path.size() + 1);
    ::unlink(notify_path.c_str()); // a previous attempt's
    const auto* where = reinterpret_cast<const sockaddr*>(&notify_address);
    if (::bind(notify.fd, where, sizeof notify_address) != 0)
      throw std::runtime_error("cannot bind " + notify_path);

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
                                  "--supervised",
                                  "systemd",
                                  "--daemonize",
                                  "no"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> variables{"NOTIFY_SOCKET=" + notify_path};
    for (char** variable = environ; *variable != nullptr; ++variable)
      if (std::string_view(*variable).substr(0, 14) != "NOTIFY_SOCKET=")
        variables.emplace_back(*variable);
    std::vector<char*> envp;
    for (auto& v : variables)
      envp.push_back(v.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), envp.data()) != 0)
      throw std::runtime_error("cannot run redis-server (apt-get install redis-server)");
    pid_ = pid;
    // glibc 2.36's <sys/pidfd.h> lacks extern "C": the system call itself.
    const descriptor exited{static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0))};
    if (exited.fd < 0) {
      kill();
      throw std::runtime_error("pidfd_open failed for redis-server");
    }

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      pollfd events[2] = {{notify.fd, POLLIN, 0}, {exited.fd, POLLIN, 0}};
      if (::poll(events, 2, static_cast<int>(left.count())) < 0) {
        if (errno == EINTR)
          continue;
        break;
      }
      if (events[1].revents != 0) { // it exited: port taken?
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return false;
      }
      if (events[0].revents != 0) {
        char message[4096];
        const auto size = ::recv(notify.fd, message, sizeof message, 0);
        const std::string_view said(message, size > 0 ? static_cast<std::size_t>(size) : 0);
        if (said.starts_with("READY=1") || said.find("\nREADY=1") != std::string_view::npos)
          return true; // one assignment a line
      }
    }
    kill();
    return false;
  }

  temporary_directory directory_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

} // namespace parley::testing
