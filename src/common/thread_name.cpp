#include "common/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace parley::common {

void name_thread(std::thread::native_handle_type thread, std::string_view name) {
  std::array<char, 16> bounded{}; // Linux's limit, with the terminating zero
  const auto length = std::min(name.size(), bounded.size() - 1);
  std::copy_n(name.data(), length, bounded.data());
  pthread_setname_np(thread, bounded.data()); // a failure leaves the old name
}

std::string this_thread_name() {
  std::array<char, 16> name{};
  if (pthread_getname_np(pthread_self(), name.data(), name.size()) != 0) {
    return "?";
  }
  return name.data();
}

} // namespace parley::common
