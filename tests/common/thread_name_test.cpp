#include "common/thread_name.hpp"

#include <pthread.h>

#include <gtest/gtest.h>

#include <array>
#include <future>
#include <string>
#include <thread>

namespace parley::common {
namespace {

std::string name_of(std::thread::native_handle_type thread) {
  std::array<char, 64> name{};
  EXPECT_EQ(pthread_getname_np(thread, name.data(), name.size()), 0);
  return name.data();
}

// The thread waits on `go` until the test has looked: its name was given before it ran a line.
TEST(thread_name, a_named_thread_has_its_name_before_its_body_runs) {
  std::promise<void> go;
  std::string inside;
  const auto before = name_of(pthread_self());
  auto thread = named_thread("store-writer", [&, started = go.get_future()] {
    started.wait();
    inside = name_of(pthread_self());
  });
  EXPECT_EQ(name_of(thread.native_handle()), "store-writer");
  go.set_value();
  thread.join();
  EXPECT_EQ(inside, "store-writer");
  EXPECT_EQ(name_of(pthread_self()), before);
}

// Here the body may run before its starter names it: it has its name all the same.
TEST(thread_name, keeps_the_first_fifteen_bytes_of_a_long_name) {
  std::string inside;
  named_thread("a-name-longer-than-linux-keeps", [&] { inside = name_of(pthread_self()); }).join();
  EXPECT_EQ(inside, "a-name-longer-t");
}

TEST(thread_name, this_thread_name_is_the_name_it_was_given) {
  std::string inside;
  named_thread("checkpointer", [&] { inside = this_thread_name(); }).join();
  EXPECT_EQ(inside, "checkpointer");
}

} // namespace
} // namespace parley::common
