#pragma once
// Blobs in PostgreSQL (blob_store.hpp's contract), for nodes that share a database but no
// file system. Two tables of the blob layer's own (not the store's migrations), created when a
// store opens (CREATE TABLE IF NOT EXISTS, one node at a time under an advisory lock):
//
//   parley_blobs       (key text PRIMARY KEY, size bigint, chunk_size integer)
//   parley_blob_chunks (key text, n integer, data bytea, PRIMARY KEY (key, n))
//
// A blob is the chunks n = 0, 1, … of `chunk_size` bytes each (the last one shorter, none for
// an empty blob); each blob keeps the chunk size it was stored with, so the option may change.
// Chunks are stored without compression (STORAGE EXTERNAL): photos and most files are
// compressed already.
//
// put runs in one transaction: INSERT … ON CONFLICT DO NOTHING of the parley_blobs row decides
// who writes the chunks (a concurrent put of the same key waits for the first one's COMMIT and
// then does nothing; if the first rolls back, it writes them itself), then the chunks, read
// from the file one at a time and hashed on the way; bytes that are not the key's roll it all
// back. The call returns after COMMIT. remove deletes the row and its chunks in one
// transaction. A read fetches only the chunks that cover the bytes asked for, a few at a time,
// and keeps the last one for the next read (sequential reads in pieces smaller than a chunk
// fetch each chunk once); it holds no connection between reads.
//
// Connections: a small pool, one connection per call at a time, at most `connections` at
// once (callers beyond wait for one). Each is the store layer's non-blocking libpq connection
// (store/postgres.hpp): every wait has the `timeout` deadline (including a put waiting for a
// concurrent put of the same key to commit). A connection that sat idle is checked before use
// and replaced when the server closed it. When a connection from the pool fails as lost, the
// idle ones are dropped too (a restarted server closed them all) and the call runs once more
// on a new connection: every call may be repeated (put is idempotent; a remove repeated after
// its COMMIT was lost answers false). A fresh connection that fails throws
// blob_error(unavailable).

#include "blob/blob_store.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace parley::blob {

struct postgres_blob_options {
  std::string url;             ///< postgres://user@host:port/database (libpq's URI form).
  std::size_t connections = 4; ///< The most connections open at once.
  /// Bytes per chunk of the blobs stored from now on.
  std::size_t chunk_size = 256 * 1024;
  /// The most chunks one query of a read fetches.
  std::size_t chunks_per_read = 4;
  /// The longest wait for the server in one call; past it the connection counts as lost.
  std::chrono::milliseconds timeout{10'000};
};

class postgres_blob_store final : public blob_store {
public:
  /// Connects and creates the tables when missing; throws blob_error.
  explicit postgres_blob_store(postgres_blob_options options);
  ~postgres_blob_store() override;

  void put(std::string_view key, const std::filesystem::path& file) override;
  [[nodiscard]] bool contains(std::string_view key) override;
  [[nodiscard]] std::unique_ptr<reader> open(std::string_view key) override;
  bool remove(std::string_view key) override;

  /// The connection pool, shared with the readers (internal).
  class pool;

private:
  std::shared_ptr<pool> pool_;
};

} // namespace parley::blob
