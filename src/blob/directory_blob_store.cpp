#include "blob/directory_blob_store.hpp"

#include "blob/file.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <random>
#include <vector>

namespace parley::blob {
namespace {

constexpr mode_t file_mode = 0640;
constexpr mode_t directory_mode = 0750;

/// mkdir(2); true when it made the directory, false when it was there.
bool make_directory(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), directory_mode) == 0) {
    return true;
  }
  if (errno != EEXIST) {
    detail::fail("creating the directory", path, errno);
  }
  return false;
}

/// link(2) never replaces an existing name; true when it linked, false when `to` was there.
/// Returns false with `unsupported` set when the file system has no hard links for this.
bool link_file(const std::filesystem::path& from, const std::filesystem::path& to,
               bool& unsupported) {
  unsupported = false;
  if (::link(from.c_str(), to.c_str()) == 0) {
    return true;
  }
  switch (errno) {
  case EEXIST:
    return false;
  case EXDEV:  // another file system after all (a bind mount)
  case EPERM:  // a file system without hard links, or a protected source
  case EMLINK: // too many links to the source
  case EOPNOTSUPP:
    unsupported = true;
    return false;
  default:
    detail::fail(fmt::format("linking {} as", from.string()), to, errno);
  }
}

std::string random_suffix() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random());
}

class directory_reader final : public reader {
public:
  directory_reader(detail::unique_fd fd, std::uint64_t size, std::filesystem::path path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  [[nodiscard]] std::uint64_t size() const override { return size_; }
  std::size_t read(std::uint64_t offset, std::span<unsigned char> into) override {
    if (offset >= size_) {
      return 0;
    }
    if (into.size() > size_ - offset) {
      into = into.first(static_cast<std::size_t>(size_ - offset));
    }
    const auto got = detail::read_at(fd_.get(), offset, into, path_);
    if (got != into.size()) {
      throw blob_error(blob_error::kind::failed,
                       fmt::format("blob store: {} is shorter than it was", path_.string()));
    }
    return got;
  }

private:
  detail::unique_fd fd_;
  std::uint64_t size_;
  std::filesystem::path path_;
};

} // namespace

directory_blob_store::directory_blob_store(directory_blob_options options)
    : options_(std::move(options)), blobs_(options_.root / "sha256"),
      temporary_(options_.root / "tmp") {
  if (options_.root.empty()) {
    throw blob_error(blob_error::kind::failed, "blob store: no directory given");
  }
  std::error_code error;
  if (std::filesystem::create_directories(options_.root, error)) {
    detail::sync_directory(options_.root / ".."); // its entry in its parent
  }
  if (error) {
    detail::fail("creating the directory", options_.root, error.value());
  }
  const bool made = make_directory(blobs_);
  if (make_directory(temporary_) || made) {
    detail::sync_directory(options_.root);
  }
  struct stat status {};
  if (::stat(temporary_.c_str(), &status) != 0) {
    detail::fail("stat", temporary_, errno);
  }
  device_ = static_cast<unsigned long>(status.st_dev);
  remove_stale_temporaries();
}

std::filesystem::path directory_blob_store::path_of(std::string_view key) const {
  check_key(key);
  return blobs_ / key.substr(0, 2) / key.substr(2, 2) / key;
}

void directory_blob_store::make_parents(std::string_view key) const {
  const auto outer = blobs_ / key.substr(0, 2);
  make_directory(outer);
  make_directory(outer / key.substr(2, 2));
}

void directory_blob_store::sync_parents(std::string_view key) const {
  const auto outer = blobs_ / key.substr(0, 2);
  detail::sync_directory(outer / key.substr(2, 2));
  detail::sync_directory(outer);
  detail::sync_directory(blobs_);
}

void directory_blob_store::put(std::string_view key, const std::filesystem::path& file) {
  const auto target = path_of(key); // checks the key first
  const auto source = detail::open_file(file, O_RDONLY, "opening the file to store");
  struct stat status {};
  if (::fstat(source.get(), &status) != 0) {
    detail::fail("stat", file, errno);
  }
  if (!S_ISREG(status.st_mode)) {
    throw blob_error(blob_error::kind::failed,
                     fmt::format("blob store: {} is not a regular file", file.string()));
  }
  if (contains(key)) {
    sync_parents(key); // the first copy stays; its put may not have synced the entries yet
    return;
  }
  if (options_.link_sources && static_cast<unsigned long>(status.st_dev) == device_) {
    if (detail::hash_of(source.get(), file) != key) {
      throw blob_error(
          blob_error::kind::failed,
          fmt::format("blob store: the bytes of {} are not those of key {}", file.string(), key));
    }
    detail::sync_file(source.get(), file); // the bytes are on disk before the name
    make_parents(key);
    bool unsupported = false;
    link_file(file, target, unsupported); // linked, or a concurrent put's copy is there
    if (!unsupported) {
      sync_parents(key);
      return;
    }
  }
  copy_into_place(key, source.get(), file);
  sync_parents(key);
}

void directory_blob_store::copy_into_place(std::string_view key, int source,
                                           const std::filesystem::path& file) {
  std::filesystem::path temporary;
  detail::unique_fd copy;
  while (!copy) {
    temporary = temporary_ / fmt::format("put-{}-{}", key.substr(0, 16), random_suffix());
    const int fd =
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, file_mode);
    if (fd >= 0) {
      copy = detail::unique_fd(fd);
    } else if (errno != EEXIST && errno != EINTR) {
      detail::fail("creating", temporary, errno);
    }
  }
  // The temporary name goes whatever happens: linked into place, or failed.
  struct remove_temporary {
    const std::filesystem::path& path;
    ~remove_temporary() { ::unlink(path.c_str()); }
  } cleanup{temporary};

  sha256 hash;
  std::vector<unsigned char> buffer(detail::io_chunk);
  for (std::uint64_t offset = 0;;) {
    const auto got = detail::read_at(source, offset, buffer, file);
    const auto bytes = std::span<const unsigned char>(buffer).first(got);
    hash.update(bytes);
    detail::write_all(copy.get(), bytes, temporary);
    offset += got;
    if (got < buffer.size()) {
      break;
    }
  }
  if (hash.hex_digest() != key) {
    throw blob_error(
        blob_error::kind::failed,
        fmt::format("blob store: the bytes of {} are not those of key {}", file.string(), key));
  }
  detail::sync_file(copy.get(), temporary);
  copy.reset();
  make_parents(key);
  const auto target = path_of(key);
  bool unsupported = false;
  link_file(temporary, target, unsupported);
  if (unsupported && ::rename(temporary.c_str(), target.c_str()) != 0) {
    // No hard links at all here: rename may replace a concurrent put's copy, with the same
    // bytes (a reader of the old file keeps it).
    detail::fail(fmt::format("renaming {} as", temporary.string()), target, errno);
  }
}

bool directory_blob_store::contains(std::string_view key) {
  const auto path = path_of(key);
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    detail::fail("stat", path, errno);
  }
  return S_ISREG(status.st_mode);
}

std::unique_ptr<reader> directory_blob_store::open(std::string_view key) {
  auto path = path_of(key);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return nullptr;
    }
    detail::fail("opening", path, errno);
  }
  detail::unique_fd owned(fd);
  const auto size = detail::regular_file_size(fd, path);
  return std::make_unique<directory_reader>(std::move(owned), size, std::move(path));
}

bool directory_blob_store::remove(std::string_view key) {
  const auto path = path_of(key);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    detail::fail("removing", path, errno);
  }
  detail::sync_directory(path.parent_path());
  return true;
}

void directory_blob_store::remove_stale_temporaries() const {
  // Best effort: a store opens whatever is left there (another node may be removing the same
  // files, or writing its own).
  const auto now = std::filesystem::file_time_type::clock::now();
  std::size_t removed = 0;
  try {
    for (const auto& entry : std::filesystem::directory_iterator(temporary_)) {
      std::error_code ignored;
      if (!entry.is_regular_file(ignored) || entry.is_symlink(ignored)) {
        continue;
      }
      const auto written = entry.last_write_time(ignored);
      if (!ignored && now - written > options_.stale_after &&
          std::filesystem::remove(entry.path(), ignored)) {
        ++removed;
      }
    }
  } catch (const std::exception& error) {
    spdlog::warn("blob.stale_temporaries directory={} error={}", temporary_.string(), error.what());
  }
  if (removed > 0) {
    spdlog::info("blob.stale_temporaries directory={} removed={}", temporary_.string(), removed);
  }
}

} // namespace parley::blob
