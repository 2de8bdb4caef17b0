#pragma once
// POSIX file helpers of the blob layer (internal): an owned descriptor, reads and writes that
// finish what they start, fsync of directories. Every failure throws blob_error naming the
// path and the system's reason.

#include "blob/blob_store.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace parley::blob::detail {

/// Bytes read or written in one system call when streaming a file.
inline constexpr std::size_t io_chunk = 256 * 1024;

/// A file descriptor, closed with its owner.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() noexcept;

private:
  int fd_ = -1;
};

/// Throws blob_error(failed) for `what` on `path`, with strerror(error).
[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int error);

/// open(2) with O_CLOEXEC | O_NOFOLLOW added; throws on failure.
[[nodiscard]] unique_fd open_file(const std::filesystem::path& path, int flags,
                                  std::string_view what, unsigned int mode = 0);

/// The size of an open regular file; throws when it is not one.
[[nodiscard]] std::uint64_t regular_file_size(int fd, const std::filesystem::path& path);

/// pread(2) until `into` is full or the file ends; returns the bytes read.
std::size_t read_at(int fd, std::uint64_t offset, std::span<unsigned char> into,
                    const std::filesystem::path& path);

/// write(2) until everything is written.
void write_all(int fd, std::span<const unsigned char> bytes, const std::filesystem::path& path);

void sync_file(int fd, const std::filesystem::path& path);

/// fsync(2) of a directory: makes the entries created or removed in it durable.
void sync_directory(const std::filesystem::path& path);

/// The key of an open file's bytes, read from its start (positioned reads: the descriptor's
/// offset is left alone).
[[nodiscard]] std::string hash_of(int fd, const std::filesystem::path& path);

} // namespace parley::blob::detail
