#include "blob/backends.hpp"

#include "blob/directory_blob_store.hpp"
#include "blob/postgres_blob_store.hpp"

#include "support/services.hpp"

#include <fmt/format.h>

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
// libasan's own count (GCC ships no <sanitizer/allocator_interface.h>).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stop_token>

namespace parley::blob::conformance {
namespace {

// -- a directory ----------------------------------------------------------------------------

class directory_place final : public test_place {
public:
  explicit directory_place(bool link) : link_(link) {}
  std::unique_ptr<blob_store> open() override {
    return std::make_unique<directory_blob_store>(
        directory_blob_options{.root = root_, .link_sources = link_});
  }
  [[nodiscard]] std::string where() const override { return root_.string(); }
  std::size_t copies(std::string_view key) override {
    return static_cast<std::size_t>(
        std::ranges::count_if(std::filesystem::recursive_directory_iterator(root_),
                              [&](const auto& entry) { return entry.path().filename() == key; }));
  }
  std::size_t leftovers() override {
    std::size_t found = 0;
    if (std::filesystem::exists(root_ / "tmp")) {
      for ([[maybe_unused]] const auto& entry :
           std::filesystem::directory_iterator(root_ / "tmp")) {
        ++found;
      }
    }
    return found;
  }
  std::vector<std::string> contents() override {
    std::vector<std::string> listing;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(directory_.path())) {
      listing.push_back(entry.path().lexically_relative(directory_.path()).string());
    }
    std::ranges::sort(listing);
    return listing;
  }

private:
  parley::testing::temporary_directory directory_;
  std::filesystem::path root_ = directory_.path() / "blobs";
  bool link_;
};

// -- PostgreSQL -----------------------------------------------------------------------------

class postgres_place final : public test_place {
public:
  std::unique_ptr<blob_store> open() override {
    return std::make_unique<postgres_blob_store>(postgres_blob_options{.url = schema_.url()});
  }
  [[nodiscard]] std::string where() const override { return schema_.url(); }
  std::size_t copies(std::string_view key) override {
    return static_cast<std::size_t>(
        schema_.count(fmt::format("SELECT count(*) FROM parley_blobs WHERE key = '{}'", key)));
  }
  std::size_t leftovers() override {
    if (schema_.count("SELECT count(*) FROM pg_tables WHERE tablename = 'parley_blobs' "
                      "AND schemaname = current_schema()") == 0) {
      return 0;
    }
    // Chunks of no blob, and blobs whose chunks are not 0 … n-1 with the right lengths.
    return static_cast<std::size_t>(schema_.count(
        "SELECT (SELECT count(*) FROM parley_blob_chunks c "
        "        WHERE NOT EXISTS (SELECT 1 FROM parley_blobs b WHERE b.key = c.key)) + "
        "       (SELECT count(*) FROM parley_blobs b WHERE "
        "          (SELECT coalesce(sum(length(data)), 0) FROM parley_blob_chunks c "
        "           WHERE c.key = b.key) <> b.size OR "
        "          (SELECT count(*) FROM parley_blob_chunks c WHERE c.key = b.key) <> "
        "           (b.size + b.chunk_size - 1) / b.chunk_size OR "
        "          (SELECT coalesce(max(n), -1) FROM parley_blob_chunks c WHERE c.key = b.key) <> "
        "           (b.size + b.chunk_size - 1) / b.chunk_size - 1)"));
  }
  std::vector<std::string> contents() override {
    std::vector<std::string> listing;
    for (const auto& row : schema_.rows("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema() ORDER BY 1")) {
      listing.push_back("table " + row.at(0));
    }
    if (listing.empty()) {
      return listing;
    }
    for (const auto& row : schema_.rows("SELECT key, size FROM parley_blobs ORDER BY key")) {
      listing.push_back(fmt::format("blob {} {}", row.at(0), row.at(1)));
    }
    for (const auto& row : schema_.rows("SELECT key, n, length(data) FROM parley_blob_chunks "
                                        "ORDER BY key, n")) {
      listing.push_back(fmt::format("chunk {} {} {}", row.at(0), row.at(1), row.at(2)));
    }
    return listing;
  }

private:
  postgres_schema schema_;
};

std::atomic<int> schemas{0};

std::string with_search_path(const std::string& url, const std::string& schema) {
  const char separator = url.find('?') == std::string::npos ? '?' : '&';
  return fmt::format("{}{}options=-csearch_path%3D{}&application_name={}", url, separator, schema,
                     schema);
}

} // namespace

std::string backend_name(const ::testing::TestParamInfo<backend>& info) {
  switch (info.param) {
  case backend::directory:
    return "directory";
  case backend::directory_copying:
    return "directory_copying";
  case backend::postgres:
    break;
  }
  return "postgres";
}

std::unique_ptr<test_place> test_place::make(backend which) {
  if (which == backend::postgres) {
    return std::make_unique<postgres_place>();
  }
  return std::make_unique<directory_place>(which == backend::directory);
}

// -- postgres_schema ------------------------------------------------------------------------

postgres_schema::postgres_schema()
    : schema_(fmt::format("blob{}_{}", ::getpid(), ++schemas)),
      url_(with_search_path(parley::test::postgres_url(), schema_)),
      admin_(parley::test::postgres_url(),
             store::postgres::connection_options{std::chrono::seconds(30), true}) {
  admin_.execute(fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema_));
}

postgres_schema::~postgres_schema() {
  try {
    inspector_.reset();
    admin_.execute(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_));
  } catch (const std::exception& error) {
    ADD_FAILURE() << "dropping the test schema: " << error.what();
  }
}

store::postgres::connection& postgres_schema::inspector() {
  if (!inspector_ || !inspector_->still_open()) {
    inspector_ = std::make_unique<store::postgres::connection>(
        url_, store::postgres::connection_options{std::chrono::seconds(30), true});
  }
  return *inspector_;
}

std::vector<std::vector<std::string>> postgres_schema::rows(std::string_view sql) {
  store::postgres::statement statement(inspector(), std::string(sql));
  std::vector<std::vector<std::string>> result;
  while (statement.step()) {
    auto& row = result.emplace_back();
    for (int column = 0; column < statement.columns(); ++column) {
      row.push_back(statement.is_null(column) ? "NULL" : statement.text(column));
    }
  }
  return result;
}

void postgres_schema::execute(std::string_view sql) {
  inspector().execute(sql);
}

void postgres_schema::kill_connections() {
  const auto others = fmt::format("FROM pg_stat_activity WHERE application_name = '{}' "
                                  "AND pid <> pg_backend_pid()",
                                  schema_);
  execute("SELECT pg_terminate_backend(pid) " + others); // signals them all at once
  // Then waits for them: given a timeout, pg_terminate_backend returns once the backend has
  // exited, its pg_stat_activity row gone with it (the server checks every 100 ms at most;
  // false at once for one gone meanwhile, false after 10 s for one still there).
  execute("SELECT pg_terminate_backend(pid, 10000) " + others);
  EXPECT_EQ(count("SELECT count(*) " + others), 0) << "connections still there after 10 s";
}

// -- helpers --------------------------------------------------------------------------------

std::vector<unsigned char> pattern(std::size_t size, std::uint64_t seed) {
  std::vector<unsigned char> bytes(size);
  std::uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  for (auto& byte : bytes) {
    state ^= state << 13; // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    byte = static_cast<unsigned char>(state >> 24);
  }
  return bytes;
}

std::size_t live_heap_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const auto info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

periodic::periodic(std::chrono::microseconds interval, std::function<void()> sample)
    : thread_([interval, sample = std::move(sample)](const std::stop_token& stop) {
        std::mutex mutex;
        std::condition_variable_any wake; // notified by nothing: request_stop() wakes it
        std::unique_lock lock(mutex);
        do {
          sample();
        } while (!wake.wait_for(lock, stop, interval, [&stop] { return stop.stop_requested(); }));
      }) {}

void periodic::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

heap_watch::heap_watch() : start_(live_heap_bytes()), peak_(start_) {}

void heap_watch::sample() {
  const auto now = live_heap_bytes();
  auto seen = peak_.load();
  while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
  }
}

std::size_t heap_watch::peak_growth() const {
  const auto peak = peak_.load();
  return peak > start_ ? peak - start_ : 0;
}

std::filesystem::path blob_test::write_file(const std::vector<unsigned char>& bytes) {
  const auto path = sources_.path() / fmt::format("source-{}", ++files_);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
  return path;
}

std::string blob_test::put_bytes(const std::vector<unsigned char>& bytes) {
  const auto file = write_file(bytes);
  const auto key = sha256_file(file);
  store_->put(key, file);
  std::filesystem::remove(file);
  return key;
}

std::vector<unsigned char> blob_test::read_all(reader& blob, std::size_t piece) {
  std::vector<unsigned char> bytes;
  std::vector<unsigned char> buffer(piece);
  for (;;) {
    const auto got = blob.read(bytes.size(), buffer);
    if (got == 0) {
      return bytes;
    }
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
  }
}

std::vector<unsigned char> blob_test::read_all(std::string_view key) {
  auto blob = store_->open(key);
  return blob ? read_all(*blob) : std::vector<unsigned char>{};
}

} // namespace parley::blob::conformance
