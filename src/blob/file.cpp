#include "blob/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace parley::blob::detail {

void unique_fd::reset() noexcept {
  if (fd_ >= 0) {
    ::close(fd_); // nothing to do about a failure here: data that matters was fsynced
    fd_ = -1;
  }
}

void fail(std::string_view what, const std::filesystem::path& path, int error) {
  throw blob_error(blob_error::kind::failed,
                   fmt::format("blob store: {} {}: {}", what, path.string(), std::strerror(error)));
}

unique_fd open_file(const std::filesystem::path& path, int flags, std::string_view what,
                    unsigned int mode) {
  for (;;) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) {
      return unique_fd(fd);
    }
    if (errno != EINTR) {
      fail(what, path, errno);
    }
  }
}

std::uint64_t regular_file_size(int fd, const std::filesystem::path& path) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    fail("stat", path, errno);
  }
  if (!S_ISREG(status.st_mode)) {
    throw blob_error(blob_error::kind::failed,
                     fmt::format("blob store: {} is not a regular file", path.string()));
  }
  return static_cast<std::uint64_t>(status.st_size);
}

std::size_t read_at(int fd, std::uint64_t offset, std::span<unsigned char> into,
                    const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < into.size()) {
    const ssize_t got =
        ::pread(fd, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("reading", path, errno);
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void write_all(int fd, std::span<const unsigned char> bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("writing", path, errno);
    }
    bytes = bytes.subspan(static_cast<std::size_t>(wrote));
  }
}

void sync_file(int fd, const std::filesystem::path& path) {
  if (::fsync(fd) != 0) {
    fail("fsync of", path, errno);
  }
}

void sync_directory(const std::filesystem::path& path) {
  const auto directory = open_file(path, O_RDONLY | O_DIRECTORY, "opening the directory");
  // Some file systems cannot fsync a directory (EINVAL): their entries are as durable as they
  // get (PostgreSQL makes the same exception).
  if (::fsync(directory.get()) != 0 && errno != EINVAL) {
    fail("fsync of", path, errno);
  }
}

std::string hash_of(int fd, const std::filesystem::path& path) {
  sha256 hash;
  std::vector<unsigned char> buffer(io_chunk);
  std::uint64_t offset = 0;
  for (;;) {
    const auto got = read_at(fd, offset, buffer, path);
    hash.update(std::span(buffer).first(got));
    offset += got;
    if (got < buffer.size()) {
      return hash.hex_digest();
    }
  }
}

} // namespace parley::blob::detail
