#pragma once
// Names the threads Parley starts, for the operating system's tools: `top -H`, `ps -L`,
// `perf report --sort comm`, gdb, /proc/PID/task/*/comm.

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace parley::common {

/// Names the thread `thread`. Linux keeps the first 15 bytes, so names are short: "io-0",
/// "store-writer". Does nothing where the system cannot.
void name_thread(std::thread::native_handle_type thread, std::string_view name);

/// The calling thread's name ("?" where the system cannot say), for logs.
[[nodiscard]] std::string this_thread_name();

/// A thread running `body`, with its name both before this returns and before `body` starts:
/// named by the thread that starts it, so that whatever looks once the component that started
/// it is up (a test reading /proc, perf) sees the name, and by itself, since it may run before
/// its starter gets there.
template <class Body> std::thread named_thread(std::string name, Body&& body) {
  std::thread thread([name, body = std::forward<Body>(body)]() mutable {
    name_thread(pthread_self(), name);
    body();
  });
  name_thread(thread.native_handle(), name);
  return thread;
}

} // namespace parley::common
