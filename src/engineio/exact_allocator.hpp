#pragma once
// An allocator for the operations an idle connection keeps pending for its whole life (the
// wait for input, the heartbeat's timer): each gets a block of its own size.
//
// Asio's default, and std::allocator too (Asio maps it to the same hook), recycles blocks per
// thread: an operation gets any larger block its thread freed before, such as a finished HTTP
// read's (about 600 bytes), and an idle connection would keep that block. This is
// std::allocator under a type of its own, which Asio uses as it is.

#include <memory>

namespace parley::engineio {

template <class T> struct exact_allocator {
  using value_type = T;

  exact_allocator() noexcept = default;
  template <class U> exact_allocator(const exact_allocator<U>& /*other*/) noexcept {}

  T* allocate(std::size_t count) { return std::allocator<T>().allocate(count); }
  void deallocate(T* pointer, std::size_t count) noexcept {
    std::allocator<T>().deallocate(pointer, count);
  }

  template <class U>
  friend bool operator==(exact_allocator /*a*/, exact_allocator<U> /*b*/) noexcept {
    return true;
  }
};

inline constexpr exact_allocator<void> k_exact{};

} // namespace parley::engineio
