#include "uploads/upload_service.hpp"

#include "media/sniff.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace parley::uploads {
namespace {

namespace asio = boost::asio;
constexpr std::int64_t k_day_ms = 86'400'000;
constexpr int k_collect_batch = 32;

upload_error busy() {
  return upload_error{failure::busy, "The server is busy with other uploads. Try again shortly.",
                      std::chrono::seconds(2)};
}

/// Removes a file when it goes out of scope (an image's outputs once their bytes are stored).
struct removed_at_end {
  std::filesystem::path path;
  ~removed_at_end() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

} // namespace

// -- incoming ---------------------------------------------------------------------------------

incoming::incoming(const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  std::string name = (directory / "upload-XXXXXX").string();
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "creating an upload file");
  }
  path_ = name;
}

incoming::~incoming() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void incoming::write(std::span<const char> bytes) {
  if (fd_ < 0) {
    throw std::logic_error("incoming: written after finish()");
  }
  if (head_.size() < media::sniff_bytes) {
    head_.append(bytes.data(), std::min(bytes.size(), media::sniff_bytes - head_.size()));
  }
  hash_.update(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
  while (!bytes.empty()) {
    const auto written = ::write(fd_, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "writing an upload file");
    }
    bytes = bytes.subspan(static_cast<std::size_t>(written));
    size_ += static_cast<std::uint64_t>(written);
  }
}

std::string incoming::finish() {
  if (fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) {
    throw std::system_error(errno, std::generic_category(), "closing an upload file");
  }
  return hash_.hex_digest();
}

// -- upload_service ---------------------------------------------------------------------------

upload_service::upload_service(store::database& db, blob::blob_store& blobs, options settings)
    : db_(db), blobs_(blobs), options_(std::move(settings)),
      rate_(options_.uploads_per_second, options_.upload_burst),
      images_(media::worker_pool::options{options_.image_workers, 8, "media-images"}),
      io_(media::worker_pool::options{options_.io_workers, 256, "media-files"}) {
  std::filesystem::create_directories(options_.staging);
  media::initialise_image_library();
}

upload_service::~upload_service() {
  images_.stop();
  io_.stop();
}

std::unique_ptr<incoming> upload_service::receive() const {
  return std::make_unique<incoming>(options_.staging);
}

asio::awaitable<std::optional<upload_error>>
upload_service::admit(store::id owner, std::optional<std::uint64_t> declared, unix_ms now) {
  if (declared && *declared > options_.max_upload_bytes) {
    co_return upload_error{failure::too_large,
                           fmt::format("A file may be at most {} bytes.", options_.max_upload_bytes),
                           std::nullopt};
  }
  if (const auto wait = rate_.take(owner, now)) {
    co_return upload_error{failure::rate_limited, "Too many uploads. Wait a moment.", *wait};
  }
  const std::int64_t day = now / k_day_ms;
  auto usage = [owner, day](store::read_transaction& transaction) {
    return std::pair{transaction.bytes_uploaded_on(owner, day), transaction.bytes_stored(owner)};
  };
  const auto [today, kept] = co_await db_.read(usage);
  const auto size = static_cast<std::int64_t>(declared.value_or(0));
  if (today + size > options_.daily_bytes) {
    co_return upload_error{failure::quota_exceeded,
                           "You have uploaded as much as you may today. Try again tomorrow.",
                           std::nullopt};
  }
  if (kept + size > options_.stored_bytes) {
    co_return upload_error{failure::quota_exceeded,
                           "Your files take all the room you have. Delete some first.",
                           std::nullopt};
  }
  co_return std::nullopt;
}

asio::awaitable<std::expected<store::upload_row, upload_error>>
upload_service::store(store::id owner, incoming& bytes, std::string name, bool image_only,
                      unix_ms now) {
  const std::string digest = bytes.finish();
  const auto detected = media::sniff(bytes.head());
  store::upload_row row;
  row.owner_id = owner;
  row.name = std::move(name);
  row.created_at = now;
  if (!detected.image) {
    if (image_only) {
      co_return std::unexpected(upload_error{
          failure::bad_image, "A profile picture must be a JPEG, PNG, WebP or GIF image.",
          std::nullopt});
    }
    row.kind = store::upload_kind::file;
    row.mime = detected.mime;
    row.size = static_cast<std::int64_t>(bytes.size());
    row.blob = digest;
    const std::array files{bytes.file()};
    co_return co_await keep(owner, std::move(row), files, now);
  }

  const removed_at_end image{bytes.file().string() + ".image"};
  const removed_at_end thumbnail{bytes.file().string() + ".thumbnail"};
  const auto limits = options_.images;
  const std::filesystem::path input = bytes.file();
  auto process = [&input, &limits, &image, &thumbnail] {
    auto outcome = media::process_image(input, limits, image.path, thumbnail.path);
    std::optional<std::array<std::string, 2>> keys;
    if (outcome) {
      keys = std::array{blob::sha256_file(image.path), blob::sha256_file(thumbnail.path)};
    }
    return std::pair{std::move(outcome), std::move(keys)};
  };
  auto ran = co_await images_.run(process);
  if (!ran) {
    co_return std::unexpected(busy());
  }
  auto& [processed, keys] = *ran;
  if (!processed) {
    if (processed.error().bad_image()) {
      spdlog::info("uploads.bad_image owner={} reason={}", owner, processed.error().message);
      co_return std::unexpected(upload_error{
          failure::bad_image, "This image cannot be read: it is damaged, or too large in pixels.",
          std::nullopt});
    }
    throw std::runtime_error("image processing failed: " + processed.error().message);
  }
  const auto& info = *processed;
  row.kind = store::upload_kind::image;
  row.mime = info.mime;
  row.size = static_cast<std::int64_t>(std::filesystem::file_size(image.path));
  row.width = info.width;
  row.height = info.height;
  row.blob = (*keys)[0];
  row.thumbnail_blob = (*keys)[1];
  row.thumbnail_mime = info.thumbnail_mime;
  const std::array files{image.path, thumbnail.path};
  co_return co_await keep(owner, std::move(row), files, now);
}

asio::awaitable<std::expected<store::upload_row, upload_error>>
upload_service::keep(store::id owner, store::upload_row row,
                     std::span<const std::filesystem::path> files, unix_ms now) {
  // 1. The blob rows first: from now on the collector leaves these bytes alone.
  const std::int64_t thumbnail_size =
      row.thumbnail_blob ? static_cast<std::int64_t>(std::filesystem::file_size(files[1])) : 0;
  auto keep_rows = [&row, thumbnail_size, now](store::write_transaction& transaction) {
    transaction.keep_blob(row.blob, row.size, now);
    if (row.thumbnail_blob) {
      transaction.keep_blob(*row.thumbnail_blob, thumbnail_size, now);
    }
    return true;
  };
  co_await db_.write(keep_rows);
  // 2. The bytes.
  auto put = [this, &row, files] {
    blobs_.put(row.blob, files[0]);
    if (row.thumbnail_blob) {
      blobs_.put(*row.thumbnail_blob, files[1]);
    }
    return true;
  };
  if (!co_await io_.run(put)) {
    co_return std::unexpected(busy());
  }
  // 3. The upload, with the quotas checked again among concurrent uploads.
  const std::int64_t day = now / k_day_ms;
  const auto daily = options_.daily_bytes;
  const auto stored = options_.stored_bytes;
  auto insert = [&row, owner, day, daily, stored](store::write_transaction& transaction)
      -> std::expected<store::upload_row, upload_error> {
    if (transaction.bytes_uploaded_on(owner, day) + row.size > daily ||
        transaction.bytes_stored(owner) + row.size > stored) {
      return std::unexpected(upload_error{failure::quota_exceeded,
                                          "This file would take you past your upload quota.",
                                          std::nullopt});
    }
    return transaction.insert_upload(row, day);
  };
  co_return co_await db_.write(insert);
}

asio::awaitable<std::optional<store::upload_row>> upload_service::readable(store::id upload,
                                                                          store::id viewer) {
  auto find = [upload, viewer](store::read_transaction& transaction) {
    return transaction.readable_upload(upload, viewer);
  };
  co_return co_await db_.read(find);
}

asio::awaitable<std::shared_ptr<blob::reader>> upload_service::open(std::string key) {
  auto opening = [this, &key]() -> std::shared_ptr<blob::reader> { return blobs_.open(key); };
  auto opened = co_await io_.run(opening);
  if (!opened) {
    throw blob::blob_error(blob::blob_error::kind::unavailable, "the blob readers are busy");
  }
  co_return std::move(*opened);
}

asio::awaitable<std::size_t> upload_service::read(std::shared_ptr<blob::reader> bytes,
                                                  std::uint64_t offset, std::span<char> into) {
  auto reading = [&bytes, offset, into] {
    return bytes->read(offset, std::span(reinterpret_cast<unsigned char*>(into.data()), into.size()));
  };
  auto got = co_await io_.run(reading);
  if (!got) {
    throw blob::blob_error(blob::blob_error::kind::unavailable, "the blob readers are busy");
  }
  co_return *got;
}

asio::awaitable<bool> upload_service::set_avatar(store::id user, std::optional<store::id> upload) {
  auto change = [user, upload](store::write_transaction& transaction) {
    if (upload) {
      const auto row = transaction.upload(*upload);
      if (!row || row->owner_id != user || row->message_id ||
          row->kind != store::upload_kind::image) {
        return false;
      }
    }
    const auto replaced = transaction.set_avatar(user, upload);
    if (replaced && replaced != upload) {
      transaction.delete_upload(*replaced); // its blobs go with the collector
    }
    return true;
  };
  co_return co_await db_.write(change);
}

asio::awaitable<upload_service::collected> upload_service::collect(unix_ms now) {
  collected total;
  const unix_ms stale_before = now - options_.unattached_ttl.count();
  for (;;) {
    auto forget = [stale_before](store::write_transaction& transaction) {
      const auto stale = transaction.stale_uploads(stale_before, k_collect_batch);
      for (const auto upload : stale) {
        transaction.delete_upload(upload);
      }
      return stale.size();
    };
    const auto removed = co_await db_.write(forget);
    total.uploads += removed;
    if (removed < static_cast<std::size_t>(k_collect_batch)) {
      break;
    }
  }
  const unix_ms stored_before = now - options_.blob_grace.count();
  for (;;) {
    // The rows go and the bytes with them in one write: a concurrent keep_blob of one of these
    // keys waits for the COMMIT (its row lock; SQLite's one writer), then puts the bytes back.
    auto sweep = [this, stored_before](store::write_transaction& transaction) {
      const auto keys = transaction.take_unreferenced_blobs(stored_before, k_collect_batch);
      for (const auto& key : keys) {
        blobs_.remove(key);
      }
      return keys.size();
    };
    const auto removed = co_await db_.write(sweep);
    total.blobs += removed;
    if (removed < static_cast<std::size_t>(k_collect_batch)) {
      break;
    }
  }
  if (total.uploads > 0 || total.blobs > 0) {
    spdlog::info("uploads.collected uploads={} blobs={}", total.uploads, total.blobs);
  }
  co_return total;
}

} // namespace parley::uploads
