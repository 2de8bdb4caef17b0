#pragma once
// Content-addressed bytes: the photos and files people upload, each stored under the SHA-256
// of its bytes (64 lower-case hex digits: the key), so identical bytes are stored once. A blob
// never changes once stored.
//
// This layer only stores, reads and removes bytes by key. Which upload refers to which blob,
// and when a blob may go, belongs to the store of record (the SQL store): it must not remove a
// blob that someone may still put or read (a put racing a remove of the same key may return
// after the remove took the bytes away; a reader of a removed blob goes on reading on the
// directory backend, and on PostgreSQL's fails at the first chunk it had not fetched yet).
//
// Two backends behind one interface (open_blob_store picks one from its setting):
//   - directory_blob_store: files at <root>/sha256/ab/cd/<key> on a local disk, or on storage
//     that several nodes share;
//   - postgres_blob_store: rows of chunks in two tables of their own in PostgreSQL.
// One conformance suite (tests/blob/) holds both to the same contract.
//
// Every call blocks (disk or network) and is made from worker threads, never from an I/O
// thread. A blob_store is thread-safe: any number of threads may call it at once, and several
// stores (several nodes) may share one directory or one database. A reader belongs to one
// thread at a time; it may outlive its store.
//
// Failures: a key that is not valid_key() throws std::invalid_argument before anything else
// is done (no file opened, no path built, no query sent); everything else that goes wrong
// throws blob_error.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace parley::blob {

class blob_error : public std::runtime_error {
public:
  enum class kind {
    /// The backend cannot be reached (PostgreSQL down, a connection lost or timed out): the
    /// call had no effect that anyone was told of, and a later call may succeed.
    unavailable,
    /// Anything else: an I/O error, a source file that cannot be read, bytes that do not
    /// match their key, a blob that changed under a reader.
    failed,
  };
  blob_error(kind what, const std::string& message) : std::runtime_error(message), kind_(what) {}
  [[nodiscard]] kind failure() const { return kind_; }
  [[nodiscard]] bool unavailable() const { return kind_ == kind::unavailable; }

private:
  kind kind_;
};

/// 64 lower-case hex digits: the only strings ever used as a key (and so in a path).
[[nodiscard]] bool valid_key(std::string_view key);
/// Throws std::invalid_argument unless valid_key(key).
void check_key(std::string_view key);

/// SHA-256 computed piece by piece (OpenSSL EVP): for a caller that hashes an upload while it
/// writes it to its temporary file, instead of reading the file again.
class sha256 {
public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  void update(std::span<const unsigned char> bytes);
  /// The digest of everything given, as a key (64 lower-case hex digits). Ends the hash: no
  /// update() after it.
  [[nodiscard]] std::string hex_digest();

private:
  evp_md_ctx_st* context_;
};

/// The key of a file's bytes, read in chunks (never the whole file in memory). Throws
/// blob_error when the file cannot be read.
[[nodiscard]] std::string sha256_file(const std::filesystem::path& file);

/// An open blob. Reads are positioned: a reader keeps no cursor, and may be read in any order.
class reader {
public:
  virtual ~reader() = default;
  [[nodiscard]] virtual std::uint64_t size() const = 0;
  /// Copies min(into.size(), size() - offset) bytes from `offset` into `into` and returns how
  /// many: `into` is filled unless the blob ends first; 0 at or past the end. Besides `into`,
  /// only a bounded buffer is held (on PostgreSQL, the few chunks of one query, and the last
  /// chunk between reads), so a blob of any size is read in pieces of the caller's choosing.
  virtual std::size_t read(std::uint64_t offset, std::span<unsigned char> into) = 0;
};

class blob_store {
public:
  virtual ~blob_store() = default;

  /// Stores the bytes of `file` under `key`, durably: when put returns, the blob survives a
  /// crash (data and directory entries fsynced on the directory backend; committed on
  /// PostgreSQL). `file` is a finished temporary file that the caller owns: put neither moves
  /// nor changes it, and the caller removes it afterwards. It must not be written again: on
  /// the directory backend, a file on the store's filesystem becomes the blob by a hard link,
  /// without a copy (see staging_directory()).
  ///
  /// The bytes are verified: put hashes what it stores (a pass over the file that the copy
  /// makes anyway, or a read of a file in the page cache when it links) and throws blob_error
  /// without storing anything when they are not `key`'s. A wrong key would otherwise serve one
  /// person's bytes to whoever later uploads the bytes whose key it is.
  ///
  /// Idempotent: a put of a key already stored keeps the first copy (and still checks that
  /// `file` can be opened). Concurrent puts of one key, from threads or from nodes sharing the
  /// backend, all succeed and leave one copy.
  virtual void put(std::string_view key, const std::filesystem::path& file) = 0;

  [[nodiscard]] virtual bool contains(std::string_view key) = 0;

  /// The blob, or nullptr when there is none under `key`.
  [[nodiscard]] virtual std::unique_ptr<reader> open(std::string_view key) = 0;

  /// Removes the blob, durably; true when it was there.
  virtual bool remove(std::string_view key) = 0;

  /// A directory on the store's own filesystem where a caller may write the file it is about
  /// to put: put then links it instead of copying its bytes. nullopt when the backend has none
  /// (any directory will do).
  [[nodiscard]] virtual std::optional<std::filesystem::path> staging_directory() const {
    return std::nullopt;
  }
};

/// A directory path (created when missing) or a postgres:// / postgresql:// URL, with each
/// backend's default options. Throws blob_error when it cannot be opened.
[[nodiscard]] std::unique_ptr<blob_store> open_blob_store(const std::string& where);

} // namespace parley::blob
