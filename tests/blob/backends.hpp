#pragma once
// The blob layer's conformance suite runs every test on each backend: a test is written once
// against blob_test and instantiated for a directory (linking sources on its own filesystem,
// and copying them), and for PostgreSQL (a schema of its own in the test server that ctest
// starts; see tests/support/services.hpp), which is dropped at the end.

#include "blob/blob_store.hpp"
#include "store/postgres.hpp"

#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace parley::blob::conformance {

enum class backend { directory, directory_copying, postgres };

/// "directory" / "directory_copying" / "postgres", for test names.
std::string backend_name(const ::testing::TestParamInfo<backend>& info);

/// A schema of its own in the test server, dropped at the end; url() reaches it (search_path
/// and application_name set to the schema's name).
class postgres_schema {
public:
  postgres_schema();
  ~postgres_schema();
  postgres_schema(const postgres_schema&) = delete;
  postgres_schema& operator=(const postgres_schema&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  /// Every row of a query in the schema, each column as text.
  std::vector<std::vector<std::string>> rows(std::string_view sql);
  /// The single integer that `sql` returns.
  std::int64_t count(std::string_view sql) { return std::stoll(rows(sql).at(0).at(0)); }
  void execute(std::string_view sql);
  /// Terminates every connection to the schema (but the test's own) and waits until the
  /// server has closed them.
  void kill_connections();

private:
  store::postgres::connection& inspector();

  std::string schema_;
  std::string url_;
  store::postgres::connection admin_;
  std::unique_ptr<store::postgres::connection> inspector_;
};

/// One fresh, empty place to keep blobs, removed at the end.
class test_place {
public:
  static std::unique_ptr<test_place> make(backend which);
  virtual ~test_place() = default;
  /// A new store on this place: two stores on one place are two nodes.
  virtual std::unique_ptr<blob_store> open() = 0;
  /// What open_blob_store takes to open this place.
  [[nodiscard]] virtual std::string where() const = 0;
  /// How many copies of `key`'s bytes are kept (files / rows in parley_blobs).
  virtual std::size_t copies(std::string_view key) = 0;
  /// Everything kept that is not a whole blob: temporary files; chunks without their blob,
  /// or a blob without all its chunks.
  virtual std::size_t leftovers() = 0;
  /// A listing of everything kept, to compare before and after.
  virtual std::vector<std::string> contents() = 0;
};

/// Deterministic bytes that look random: `seed` tells one blob's from another's.
std::vector<unsigned char> pattern(std::size_t size, std::uint64_t seed);

/// The live heap, in bytes (ASan's count under ASan, malloc's otherwise).
std::size_t live_heap_bytes();

/// Calls `sample` on a thread of its own now and every `interval` after, until stop() or
/// destruction. A peak has no event to wait for, hence the interval; stopping wakes the thread
/// at once instead of waiting one out.
class periodic {
public:
  periodic(std::chrono::microseconds interval, std::function<void()> sample);
  ~periodic() { stop(); }
  periodic(const periodic&) = delete;
  periodic& operator=(const periodic&) = delete;
  /// Returns once the last call to `sample` has returned.
  void stop();

private:
  std::jthread thread_;
};

/// Samples the live heap on a thread of its own while it lives: how far above the level at
/// its start did it go?
class heap_watch {
public:
  heap_watch();
  heap_watch(const heap_watch&) = delete;
  heap_watch& operator=(const heap_watch&) = delete;
  /// Also sampled by the caller at points it knows matter.
  void sample();
  [[nodiscard]] std::size_t peak_growth() const;

private:
  std::size_t start_;
  std::atomic<std::size_t> peak_;
  periodic sampler_{std::chrono::microseconds(200), [this] { sample(); }};
};

/// A test on each backend, with a store on a fresh place and a directory for source files on
/// the same filesystem as the directory backend's.
class blob_test : public ::testing::TestWithParam<backend> {
protected:
  std::unique_ptr<test_place> place_ = test_place::make(GetParam());
  std::unique_ptr<blob_store> store_ = place_->open();
  parley::testing::temporary_directory sources_;

  /// A new file with these bytes, in sources_.
  std::filesystem::path write_file(const std::vector<unsigned char>& bytes);
  /// Writes the bytes to a file, puts it, removes the file; returns the key.
  std::string put_bytes(const std::vector<unsigned char>& bytes);
  /// The whole blob, read in pieces of `piece` bytes (empty when there is none).
  static std::vector<unsigned char> read_all(reader& blob, std::size_t piece = 64 * 1024);
  std::vector<unsigned char> read_all(std::string_view key);

private:
  int files_ = 0;
};

/// A valid key of bytes never stored.
inline const std::string absent_key(64, 'a');

} // namespace parley::blob::conformance

/// Instantiates a suite of blob_test (or a subclass) for every backend.
#define PARLEY_BLOB_BACKENDS(suite)                                                                \
  INSTANTIATE_TEST_SUITE_P(                                                                        \
      backends, suite,                                                                             \
      ::testing::Values(::parley::blob::conformance::backend::directory,                           \
                        ::parley::blob::conformance::backend::directory_copying,                   \
                        ::parley::blob::conformance::backend::postgres),                           \
      ::parley::blob::conformance::backend_name)
