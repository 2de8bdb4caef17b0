#pragma once
// Names the threads Parley starts, for the operating system's tools: `top -H`, `ps -L`,
// `perf report --sort comm`, gdb, /proc/PID/task/*/comm.

#include <string_view>
#include <thread>
#include <utility>

namespace parley::common {

/// Names `thread` (running, not yet joined). Linux keeps the first 15 bytes, so names are short:
/// "io-0", "store-writer". Does nothing where the system cannot.
void name_thread(std::thread& thread, std::string_view name);

/// A thread running `body`, named before this returns: whatever looks once the component that
/// started it is up (a test reading /proc, perf) sees the name, which a thread naming itself
/// would leave to the scheduler.
template <class Body> std::thread named_thread(std::string_view name, Body&& body) {
  std::thread thread(std::forward<Body>(body));
  name_thread(thread, name);
  return thread;
}

} // namespace parley::common
