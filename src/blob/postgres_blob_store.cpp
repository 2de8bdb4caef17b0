#include "blob/postgres_blob_store.hpp"

#include "blob/file.hpp"
#include "store/errors.hpp"
#include "store/postgres.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

namespace parley::blob {
namespace {

using store::database_error;
namespace postgres = store::postgres;

// Any fixed number, not the store's (7261657): the key of the session-level advisory lock
// under which nodes create the tables one at a time.
constexpr const char* lock_sql = "SELECT pg_advisory_lock(7261658)";
constexpr const char* unlock_sql = "SELECT pg_advisory_unlock(7261658)";
constexpr const char* create_sql = R"(
  BEGIN;
  CREATE TABLE parley_blobs (
    key text COLLATE "C" PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}$'),
    size bigint NOT NULL CHECK (size >= 0),
    chunk_size integer NOT NULL CHECK (chunk_size > 0));
  CREATE TABLE parley_blob_chunks (
    key text COLLATE "C" NOT NULL,
    n integer NOT NULL CHECK (n >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (key, n));
  ALTER TABLE parley_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  COMMIT)";

constexpr const char* exists_sql = "SELECT to_regclass('parley_blob_chunks') IS NOT NULL";
constexpr const char* contains_sql = "SELECT 1 FROM parley_blobs WHERE key = ?1";
constexpr const char* describe_sql = "SELECT size, chunk_size FROM parley_blobs WHERE key = ?1";
constexpr const char* claim_sql = "INSERT INTO parley_blobs (key, size, chunk_size) "
                                  "VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING";
constexpr const char* insert_chunk_sql =
    "INSERT INTO parley_blob_chunks (key, n, data) VALUES (?1, ?2, ?3)";
constexpr const char* chunks_sql = "SELECT n, data FROM parley_blob_chunks "
                                   "WHERE key = ?1 AND n >= ?2 AND n <= ?3 ORDER BY n";
constexpr const char* remove_sql = "DELETE FROM parley_blobs WHERE key = ?1";
constexpr const char* remove_chunks_sql = "DELETE FROM parley_blob_chunks WHERE key = ?1";

blob_error translated(const database_error& error, std::string_view what) {
  return blob_error(error.failure() == database_error::kind::unavailable
                        ? blob_error::kind::unavailable
                        : blob_error::kind::failed,
                    fmt::format("blob store ({}): {}", what, error.what()));
}

} // namespace

// -- the pool -------------------------------------------------------------------------------

class postgres_blob_store::pool {
public:
  explicit pool(postgres_blob_options options) : options_(std::move(options)) {}
  [[nodiscard]] const postgres_blob_options& options() const { return options_; }

  /// One connection for one call: from the pool when one is idle (checked first), else new.
  class lease {
  public:
    explicit lease(pool& owner) : owner_(owner) {
      {
        std::unique_lock lock(owner_.mutex_);
        owner_.freed_.wait(lock, [this] { return owner_.leased_ < owner_.options_.connections; });
        ++owner_.leased_;
        if (!owner_.idle_.empty()) {
          db_ = std::move(owner_.idle_.back());
          owner_.idle_.pop_back();
        }
      }
      if (db_ && !db_->still_open()) {
        db_.reset(); // the server closed it while it sat idle
      }
      reused_ = db_ != nullptr;
      if (!db_) {
        try {
          db_ = owner_.connect();
        } catch (...) {
          give_back();
          throw;
        }
      }
    }
    ~lease() { give_back(); }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;

    [[nodiscard]] postgres::connection& connection() { return *db_; }
    /// The connection came from the pool rather than being made for this call.
    [[nodiscard]] bool reused() const { return reused_; }

    /// After a failure: leaves the connection outside any transaction, or drops it.
    void recover() noexcept {
      if (!db_->usable()) {
        db_.reset();
        return;
      }
      try {
        if (db_->aborted()) {
          db_->synchronise();
        }
        db_->send("ROLLBACK"); // outside a transaction: a warning, which nobody sees
        db_->synchronise();
      } catch (const std::exception& error) {
        spdlog::warn("blob.postgres_reset error={}", error.what());
        db_.reset();
      }
    }

  private:
    void give_back() noexcept {
      std::unique_ptr<postgres::connection> unusable;
      {
        std::lock_guard lock(owner_.mutex_);
        if (db_ && db_->usable() && !db_->aborted()) {
          owner_.idle_.push_back(std::move(db_));
        }
        unusable = std::move(db_);
        --owner_.leased_;
      }
      owner_.freed_.notify_one();
    }

    pool& owner_;
    std::unique_ptr<postgres::connection> db_;
    bool reused_ = false;
  };

  [[nodiscard]] std::unique_ptr<postgres::connection> connect() const {
    return std::make_unique<postgres::connection>(
        options_.url, postgres::connection_options{options_.timeout, true});
  }

  /// Hands a connection made elsewhere (the one that created the tables) to the pool.
  void adopt(std::unique_ptr<postgres::connection> db) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(db));
  }

  /// Closes the idle connections: after one was lost, the others likely were too.
  void drop_idle() noexcept {
    std::vector<std::unique_ptr<postgres::connection>> dropped;
    {
      std::lock_guard lock(mutex_);
      dropped.swap(idle_);
    }
  }

  /// Runs `operation(connection)`; after a failure rolls back or drops the connection, and
  /// runs it once more when a connection from the pool turned out lost. Translates the
  /// store's errors into blob_error.
  template <class Operation> auto run(std::string_view what, Operation&& operation) {
    for (int attempt = 1;; ++attempt) {
      bool reused = false;
      try {
        lease held(*this);
        reused = held.reused();
        try {
          return operation(held.connection());
        } catch (...) {
          held.recover();
          throw;
        }
      } catch (const database_error& error) {
        const bool lost = error.failure() == database_error::kind::unavailable;
        if (lost) {
          drop_idle();
        }
        if (lost && reused && attempt == 1) {
          std::string message = error.what();
          std::ranges::replace(message, '\n', ' '); // libpq's messages span lines
          spdlog::info("blob.postgres_reconnect during={} error=\"{}\"", what, message);
          continue;
        }
        throw translated(error, what);
      }
    }
  }

private:
  postgres_blob_options options_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<postgres::connection>> idle_;
  std::size_t leased_ = 0;
};

// -- the reader -----------------------------------------------------------------------------

namespace {

class postgres_reader final : public reader {
public:
  postgres_reader(std::shared_ptr<postgres_blob_store::pool> pool, std::string key,
                  std::uint64_t size, std::uint64_t chunk_size)
      : pool_(std::move(pool)), key_(std::move(key)), size_(size), chunk_size_(chunk_size) {}

  [[nodiscard]] std::uint64_t size() const override { return size_; }

  std::size_t read(std::uint64_t offset, std::span<unsigned char> into) override {
    if (offset >= size_) {
      return 0;
    }
    const auto wanted =
        static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), size_ - offset));
    std::size_t done = 0;
    while (done < wanted) {
      const std::uint64_t at = offset + done;
      const std::uint64_t index = at / chunk_size_;
      if (cached_index_ != index) {
        const std::uint64_t last_needed = (offset + wanted - 1) / chunk_size_;
        fetch(index, std::min(last_needed, index + pool_->options().chunks_per_read - 1), at,
              into.subspan(done, wanted - done), done);
        continue;
      }
      done += copy_from(cached_, index, at, into.subspan(done, wanted - done));
    }
    return done;
  }

private:
  /// Copies from chunk `index` (its bytes `chunk`) what covers `into` from byte `at`.
  std::size_t copy_from(const std::vector<unsigned char>& chunk, std::uint64_t index,
                        std::uint64_t at, std::span<unsigned char> into) const {
    const auto within = static_cast<std::size_t>(at - index * chunk_size_);
    const auto count = std::min(chunk.size() - within, into.size());
    std::memcpy(into.data(), chunk.data() + within, count);
    return count;
  }

  [[nodiscard]] std::size_t expected_length(std::uint64_t index) const {
    return static_cast<std::size_t>(std::min(chunk_size_, size_ - index * chunk_size_));
  }

  [[noreturn]] void changed() const {
    throw blob_error(blob_error::kind::failed,
                     fmt::format("blob store: blob {} was removed or changed while read", key_));
  }

  /// Fetches chunks first…last, copies them into `into` (which starts at byte `at`), keeps
  /// the last one.
  void fetch(std::uint64_t first, std::uint64_t last, std::uint64_t at,
             std::span<unsigned char> into, std::size_t& done) {
    pool_->run("read", [&](postgres::connection& db) {
      auto& chunks = db.cached(chunks_sql);
      chunks.bind(1, key_)
          .bind(2, static_cast<std::int64_t>(first))
          .bind(3, static_cast<std::int64_t>(last));
      std::uint64_t index = first;
      std::size_t copied = 0;
      std::vector<unsigned char> bytes;
      while (chunks.step()) {
        if (static_cast<std::uint64_t>(chunks.integer(0)) != index) {
          changed();
        }
        bytes = chunks.blob(1);
        if (bytes.size() != expected_length(index)) {
          changed();
        }
        copied += copy_from(bytes, index, at + copied, into.subspan(copied));
        ++index;
      }
      chunks.reset(); // frees the result now rather than at the statement's next use
      if (index != last + 1) {
        changed();
      }
      cached_ = std::move(bytes);
      cached_index_ = last;
      done += copied;
    });
  }

  std::shared_ptr<postgres_blob_store::pool> pool_;
  std::string key_;
  std::uint64_t size_;
  std::uint64_t chunk_size_;
  std::uint64_t cached_index_ = UINT64_MAX;
  std::vector<unsigned char> cached_;
};

} // namespace

// -- the store ------------------------------------------------------------------------------

postgres_blob_store::postgres_blob_store(postgres_blob_options options) {
  if (options.connections == 0 || options.chunk_size == 0 || options.chunks_per_read == 0 ||
      options.chunk_size > 64 * 1024 * 1024) {
    throw blob_error(blob_error::kind::failed,
                     "blob store: connections, chunk_size (up to 64 MiB) and chunks_per_read "
                     "must be positive");
  }
  pool_ = std::make_shared<pool>(std::move(options));
  try {
    auto db = pool_->connect();
    db->execute(lock_sql);
    try {
      auto& exists = db->cached(exists_sql);
      const bool there = exists.step() && exists.integer(0) != 0;
      exists.reset();
      if (!there) {
        db->execute(create_sql);
        spdlog::info("blob.postgres_tables_created");
      }
      db->execute(unlock_sql);
    } catch (...) {
      if (db->usable()) {
        db->execute(std::string("ROLLBACK; ") + unlock_sql);
      }
      throw;
    }
    pool_->adopt(std::move(db));
  } catch (const database_error& error) {
    throw translated(error, "open");
  }
}

postgres_blob_store::~postgres_blob_store() = default;

void postgres_blob_store::put(std::string_view key, const std::filesystem::path& file) {
  check_key(key);
  const auto source = detail::open_file(file, O_RDONLY, "opening the file to store");
  const auto size = detail::regular_file_size(source.get(), file);
  const auto chunk_size = pool_->options().chunk_size;
  pool_->run("put", [&](postgres::connection& db) {
    auto& there = db.cached(contains_sql);
    if (there.bind(1, key).step()) {
      there.reset();
      return; // the first copy stays
    }
    db.send("BEGIN");
    auto& claim = db.cached(claim_sql);
    claim.bind(1, key)
        .bind(2, static_cast<std::int64_t>(size))
        .bind(3, static_cast<std::int64_t>(chunk_size))
        .run();
    if (db.changes() == 0) {
      // A concurrent put of the same key committed first (this INSERT waited for it).
      db.send("ROLLBACK");
      db.synchronise();
      return;
    }
    sha256 hash;
    std::vector<unsigned char> buffer(chunk_size);
    std::uint64_t offset = 0;
    for (std::int64_t n = 0;; ++n) {
      const auto got = detail::read_at(source.get(), offset, buffer, file);
      if (got == 0) {
        break;
      }
      const auto bytes = std::span<const unsigned char>(buffer).first(got);
      hash.update(bytes);
      db.cached(insert_chunk_sql).bind(1, key).bind(2, n).bind_blob(3, bytes).run();
      offset += got;
    }
    if (offset != size || hash.hex_digest() != key) {
      throw blob_error(
          blob_error::kind::failed,
          fmt::format("blob store: the bytes of {} are not those of key {}", file.string(), key));
    }
    db.send("COMMIT");
    db.synchronise();
  });
}

bool postgres_blob_store::contains(std::string_view key) {
  check_key(key);
  return pool_->run("contains", [&](postgres::connection& db) {
    auto& there = db.cached(contains_sql);
    const bool found = there.bind(1, key).step();
    there.reset();
    return found;
  });
}

std::unique_ptr<reader> postgres_blob_store::open(std::string_view key) {
  check_key(key);
  return pool_->run("open", [&](postgres::connection& db) -> std::unique_ptr<reader> {
    auto& describe = db.cached(describe_sql);
    if (!describe.bind(1, key).step()) {
      return nullptr;
    }
    const auto size = describe.integer(0);
    const auto chunk_size = describe.integer(1);
    describe.reset();
    if (size < 0 || chunk_size <= 0) {
      throw blob_error(blob_error::kind::failed,
                       fmt::format("blob store: blob {} has a bad size or chunk size", key));
    }
    return std::make_unique<postgres_reader>(pool_, std::string(key),
                                             static_cast<std::uint64_t>(size),
                                             static_cast<std::uint64_t>(chunk_size));
  });
}

bool postgres_blob_store::remove(std::string_view key) {
  check_key(key);
  return pool_->run("remove", [&](postgres::connection& db) {
    db.send("BEGIN");
    db.cached(remove_sql).bind(1, key).run();
    const bool removed = db.changes() > 0;
    db.cached(remove_chunks_sql).bind(1, key).run();
    db.send("COMMIT");
    db.synchronise();
    return removed;
  });
}

} // namespace parley::blob
