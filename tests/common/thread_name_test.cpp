#include "common/thread_name.hpp"

#include <pthread.h>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <thread>

namespace parley::common {
namespace {

std::string name_of_this_thread() {
  std::array<char, 64> name{};
  EXPECT_EQ(pthread_getname_np(pthread_self(), name.data(), name.size()), 0);
  return name.data();
}

TEST(thread_name, names_the_calling_thread_only) {
  std::string inside;
  const auto before = name_of_this_thread();
  std::thread([&] {
    name_this_thread("store-writer");
    inside = name_of_this_thread();
  }).join();
  EXPECT_EQ(inside, "store-writer");
  EXPECT_EQ(name_of_this_thread(), before);
}

TEST(thread_name, keeps_the_first_fifteen_bytes_of_a_long_name) {
  std::string inside;
  std::thread([&] {
    name_this_thread("a-name-longer-than-linux-keeps");
    inside = name_of_this_thread();
  }).join();
  EXPECT_EQ(inside, "a-name-longer-t");
}

} // namespace
} // namespace parley::common
