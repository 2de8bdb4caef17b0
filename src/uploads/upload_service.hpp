#pragma once
// Uploads as a service: what the upload, media and profile-picture endpoints do between HTTP
// and the store, the blob store and the image library.
//
// An upload goes: admit() (rate limit, and the quotas against the declared size, before any
// of the body is read) → the body into an `incoming` file in the staging directory, hashed
// as it is written → store(): type from the bytes; an image decoded and re-encoded without
// metadata, with a thumbnail, on the image workers; the blob rows kept (so that the collector
// leaves these bytes alone), the bytes put in the blob store, then the upload's row, with the
// quotas checked again inside that write. Nothing here runs on an I/O thread: image work and
// blob I/O go to bounded worker pools, and a full pool answers `busy` rather than queueing
// without end.
//
// The collector (collect()) removes uploads attached to nothing after `unattached_ttl`, then
// blobs that no upload refers to (their rows deleted and bytes removed in one write, so that a
// concurrent upload of the same bytes waits and puts them back).

#include "blob/blob_store.hpp"
#include "chat/rate.hpp"
#include "media/images.hpp"
#include "media/workers.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace parley::uploads {

struct options {
  std::uint64_t max_upload_bytes = 100ULL * 1024 * 1024; ///< Per file.
  std::int64_t daily_bytes = 2LL * 1024 * 1024 * 1024;   ///< Per user per UTC day.
  std::int64_t stored_bytes = 10LL * 1024 * 1024 * 1024; ///< Per user, kept at once.
  double uploads_per_second = 2; ///< Per user, in bursts of `upload_burst`; 0: no limit.
  double upload_burst = 20;
  media::image_limits images;
  /// Where bodies are written as they arrive (best on the blob store's own filesystem: see
  /// blob_store::staging_directory()).
  std::filesystem::path staging = "var/uploads-staging";
  std::chrono::milliseconds unattached_ttl = std::chrono::hours(24);
  /// How long a blob row protects its bytes after an upload last stored them: longer than an
  /// upload can take from keep_blob to its own row.
  std::chrono::milliseconds blob_grace = std::chrono::hours(1);
  std::size_t image_workers = 1;
  std::size_t io_workers = 4;
};

enum class failure { too_large, quota_exceeded, bad_image, rate_limited, busy };

struct upload_error {
  failure kind = failure::busy;
  std::string message; ///< For people.
  std::optional<std::chrono::milliseconds> retry_after;
};

/// The bytes of one upload as they arrive: a new file (mode 0600) in the staging directory,
/// hashed as it is written; removed with this object.
class incoming {
public:
  explicit incoming(const std::filesystem::path& directory);
  ~incoming();
  incoming(const incoming&) = delete;
  incoming& operator=(const incoming&) = delete;

  /// Appends to the file; throws std::system_error on a disk error.
  void write(std::span<const char> bytes);
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] const std::filesystem::path& file() const { return path_; }
  /// The first bytes (for type detection), up to 4 KiB.
  [[nodiscard]] const std::string& head() const { return head_; }
  /// Closes the file; the digest of everything written. Once.
  std::string finish();

private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string head_;
  blob::sha256 hash_;
};

class upload_service {
public:
  /// `db` and `blobs` must outlive the service.
  upload_service(store::database& db, blob::blob_store& blobs, options settings);
  ~upload_service();
  upload_service(const upload_service&) = delete;
  upload_service& operator=(const upload_service&) = delete;

  [[nodiscard]] const options& settings() const { return options_; }

  /// Before the body is read: the rate limit, the size limit and the quotas against the size
  /// the client declared (when it did).
  boost::asio::awaitable<std::optional<upload_error>>
  admit(store::id owner, std::optional<std::uint64_t> declared, unix_ms now);

  /// A new file for a body.
  [[nodiscard]] std::unique_ptr<incoming> receive() const;

  /// After the body: detects its type, processes an image, stores the bytes and the upload.
  /// `image_only` (a profile picture): anything but an image is bad_image.
  boost::asio::awaitable<std::expected<store::upload_row, upload_error>>
  store(store::id owner, incoming& bytes, std::string name, bool image_only, unix_ms now);

  /// The upload if `viewer` may read it (store::read_transaction::readable_upload).
  boost::asio::awaitable<std::optional<store::upload_row>> readable(store::id upload,
                                                                   store::id viewer);

  /// The bytes under `key`, opened on the I/O workers; nullptr when they are missing.
  boost::asio::awaitable<std::shared_ptr<blob::reader>> open(std::string key);
  /// Reads from `bytes` on the I/O workers (see blob::reader::read).
  boost::asio::awaitable<std::size_t> read(std::shared_ptr<blob::reader> bytes,
                                           std::uint64_t offset, std::span<char> into);

  /// Makes `upload` (an image of `user`'s, attached to nothing) their profile picture, or with
  /// nullopt removes it; the picture replaced is deleted. False when `upload` cannot be one.
  boost::asio::awaitable<bool> set_avatar(store::id user, std::optional<store::id> upload);

  struct collected {
    std::size_t uploads = 0;
    std::size_t blobs = 0;
  };
  /// One pass of the collector (see above), in batches.
  boost::asio::awaitable<collected> collect(unix_ms now);

private:
  boost::asio::awaitable<std::expected<store::upload_row, upload_error>>
  keep(store::id owner, store::upload_row row, std::span<const std::filesystem::path> files,
       unix_ms now);

  store::database& db_;
  blob::blob_store& blobs_;
  options options_;
  chat::token_buckets rate_;
  media::worker_pool images_;
  media::worker_pool io_;
};

} // namespace parley::uploads
