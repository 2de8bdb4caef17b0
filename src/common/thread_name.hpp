#pragma once
// Names the threads Parley starts, for the operating system's tools: `top -H`, `ps -L`,
// `perf report --sort comm`, gdb, /proc/PID/task/*/comm.

#include <string_view>

namespace parley::common {

/// Names the calling thread. Linux keeps the first 15 bytes, so names are short: "io-0",
/// "store-writer". Does nothing where the system cannot.
void name_this_thread(std::string_view name);

} // namespace parley::common
