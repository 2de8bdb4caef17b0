#pragma once
// Blobs as files in a directory (blob_store.hpp's contract), on a local disk or on storage
// that several nodes share:
//
//   <root>/sha256/ab/cd/<key>   a blob (ab, cd: the key's first two and next two digits)
//   <root>/tmp/                 files being put, and the callers' own (staging_directory())
//
// No path is ever built from anything but a validated key. A blob file is opened with
// O_NOFOLLOW and read with pread(2), so readers share nothing.
//
// put: a source on the store's filesystem (written to staging_directory(), say) becomes the
// blob by a hard link, after its bytes are hashed and fsynced; any other is copied (hashing as
// it goes) into a new file in <root>/tmp, fsynced and then linked into place. link(2) never
// replaces: of two puts of one key (threads or nodes), one links and the other finds the file
// there, and either way the blob is the first copy. Then the directories on the way are
// fsynced, also by a put that found its key already there (the put that linked it may not
// have synced them yet). remove unlinks and fsyncs the directory.
//
// A put that fails (or a crash) can leave a file in <root>/tmp: files there older than
// `stale_after` are removed when a store opens. Empty ab/cd directories stay (65,536 at most).

#include "blob/blob_store.hpp"

#include <chrono>
#include <filesystem>

namespace parley::blob {

struct directory_blob_options {
  std::filesystem::path root; ///< Created (with its parents) when missing.
  /// A source on the store's filesystem becomes the blob by a hard link; false: always copy.
  bool link_sources = true;
  /// Files in <root>/tmp older than this are removed at open (left by a crash).
  std::chrono::seconds stale_after = std::chrono::hours(24);
};

class directory_blob_store final : public blob_store {
public:
  /// Creates the directories that are missing; throws blob_error.
  explicit directory_blob_store(directory_blob_options options);

  void put(std::string_view key, const std::filesystem::path& file) override;
  [[nodiscard]] bool contains(std::string_view key) override;
  [[nodiscard]] std::unique_ptr<reader> open(std::string_view key) override;
  bool remove(std::string_view key) override;
  /// <root>/tmp.
  [[nodiscard]] std::optional<std::filesystem::path> staging_directory() const override {
    return temporary_;
  }

  /// Where the blob of a valid key lives (whether or not it is there).
  [[nodiscard]] std::filesystem::path path_of(std::string_view key) const;

private:
  /// Creates <root>/sha256/ab/cd when missing.
  void make_parents(std::string_view key) const;
  /// fsyncs <root>/sha256/ab/cd, <root>/sha256/ab and <root>/sha256.
  void sync_parents(std::string_view key) const;
  /// Copies `source` into a new file in <root>/tmp, checks its key, fsyncs it, links it into
  /// place, and removes the temporary name.
  void copy_into_place(std::string_view key, int source, const std::filesystem::path& file);
  void remove_stale_temporaries() const;

  directory_blob_options options_;
  std::filesystem::path blobs_;     ///< <root>/sha256
  std::filesystem::path temporary_; ///< <root>/tmp
  unsigned long device_ = 0;        ///< st_dev of <root>/tmp: a source on it can be linked.
};

} // namespace parley::blob
