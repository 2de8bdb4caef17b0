// What only the PostgreSQL backend has: its tables and chunk rows, reads that fetch only the
// chunks they need, a lost connection replaced on the next call, a bounded pool, and a
// server that cannot be reached.

#include "blob/postgres_blob_store.hpp"

#include "blob/backends.hpp"
#include "support/ports.hpp"
#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <latch>
#include <thread>

namespace parley::blob {
namespace {

using conformance::pattern;

class postgres_store : public ::testing::Test {
protected:
  conformance::postgres_schema schema_;
  parley::testing::temporary_directory sources_;

  std::unique_ptr<postgres_blob_store> open(std::size_t chunk_size = 256 * 1024,
                                            std::size_t connections = 4) {
    return std::make_unique<postgres_blob_store>(postgres_blob_options{
        .url = schema_.url(), .connections = connections, .chunk_size = chunk_size});
  }
  std::string put(blob_store& store, const std::vector<unsigned char>& bytes) {
    const auto file = sources_.path() / fmt::format("source-{}", ++files_);
    {
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
    const auto key = sha256_file(file);
    store.put(key, file);
    return key;
  }
  static std::vector<unsigned char> read(reader& blob, std::uint64_t offset, std::size_t length) {
    std::vector<unsigned char> bytes(length);
    bytes.resize(blob.read(offset, bytes));
    return bytes;
  }
  static std::vector<unsigned char> slice(const std::vector<unsigned char>& bytes,
                                          std::size_t offset, std::size_t length) {
    return {bytes.begin() + static_cast<std::ptrdiff_t>(offset),
            bytes.begin() + static_cast<std::ptrdiff_t>(offset + length)};
  }

private:
  int files_ = 0;
};

TEST_F(postgres_store, opening_creates_the_tables_once) {
  EXPECT_EQ(schema_.count("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), 0);
  auto store = open();
  EXPECT_EQ(schema_.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                         "ORDER BY 1"),
            (std::vector<std::vector<std::string>>{{"parley_blob_chunks"}, {"parley_blobs"}}));
  // Chunks are kept as they come (photos are compressed already).
  EXPECT_EQ(schema_.rows("SELECT attstorage FROM pg_attribute "
                         "WHERE attrelid = 'parley_blob_chunks'::regclass AND attname = 'data'"),
            (std::vector<std::vector<std::string>>{{"e"}}));
  const auto key = put(*store, pattern(10, 1));
  auto again = open();
  EXPECT_TRUE(again->contains(key)) << "a second open keeps what is there";
}

TEST_F(postgres_store, nodes_starting_together_create_the_tables_once) {
  std::latch start(4);
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int node = 0; node < 4; ++node) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        open();
        ++opened;
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(opened, 4);
}

TEST_F(postgres_store, a_blob_is_rows_of_chunks_of_its_chunk_size) {
  auto store = open(1000);
  const auto bytes = pattern(2001, 2);
  const auto key = put(*store, bytes);
  EXPECT_EQ(
      schema_.rows(fmt::format("SELECT size, chunk_size FROM parley_blobs WHERE key = '{}'", key)),
      (std::vector<std::vector<std::string>>{{"2001", "1000"}}));
  EXPECT_EQ(schema_.rows(fmt::format("SELECT n, length(data) FROM parley_blob_chunks "
                                     "WHERE key = '{}' ORDER BY n",
                                     key)),
            (std::vector<std::vector<std::string>>{{"0", "1000"}, {"1", "1000"}, {"2", "1"}}));
  // A store with another chunk size reads it as it was stored.
  auto other = open(4096);
  auto blob = other->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(read(*blob, 0, 5000), bytes);
  EXPECT_EQ(read(*blob, 999, 3), slice(bytes, 999, 3));
}

TEST_F(postgres_store, a_read_fetches_only_the_chunks_it_covers) {
  auto store = open(1000);
  const auto bytes = pattern(5000, 3);
  const auto key = put(*store, bytes);
  // Chunks 0 and 4 gone behind the store's back: reads of 1 … 3 do not notice.
  schema_.execute(
      fmt::format("DELETE FROM parley_blob_chunks WHERE key = '{}' AND n IN (0, 4)", key));
  auto blob = store->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(read(*blob, 1000, 3000), slice(bytes, 1000, 3000));
  EXPECT_EQ(read(*blob, 2500, 10), slice(bytes, 2500, 10));
  EXPECT_THROW(read(*blob, 999, 2), blob_error) << "chunk 0 is missing";
  EXPECT_THROW(read(*blob, 4000, 1), blob_error) << "chunk 4 is missing";
}

TEST_F(postgres_store, a_lost_connection_is_replaced_on_the_next_call) {
  auto store = open(1000, 2);
  const auto bytes = pattern(3500, 4);
  const auto key = put(*store, bytes);
  auto blob = store->open(key);
  ASSERT_NE(blob, nullptr);

  schema_.kill_connections();
  EXPECT_TRUE(store->contains(key));
  schema_.kill_connections();
  EXPECT_EQ(read(*blob, 900, 1200), slice(bytes, 900, 1200)) << "a reader holds no connection";
  schema_.kill_connections();
  auto again = store->open(key);
  ASSERT_NE(again, nullptr);
  schema_.kill_connections();
  const auto other = pattern(2500, 5);
  const auto other_key = put(*store, other);
  schema_.kill_connections();
  EXPECT_TRUE(store->remove(key));
  EXPECT_FALSE(store->contains(key));
  auto other_blob = store->open(other_key);
  ASSERT_NE(other_blob, nullptr);
  EXPECT_EQ(read(*other_blob, 0, 10'000), other);
}

TEST_F(postgres_store, the_pool_never_opens_more_connections_than_allowed) {
  auto store = open(1000, 2);
  const auto bytes = pattern(10'000, 6);
  const auto key = put(*store, bytes);
  std::atomic<std::int64_t> most{0};
  const auto connections = [this] {
    return schema_.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "current_setting('application_name') AND pid <> pg_backend_pid()");
  };
  // The only user of schema_ while it runs.
  conformance::periodic watcher(std::chrono::milliseconds(1),
                                [&] { most = std::max(most.load(), connections()); });
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int thread = 0; thread < 8; ++thread) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        auto blob = store->open(key);
        if (blob && read(*blob, 0, bytes.size()) == bytes && store->contains(key)) {
          ++good;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  watcher.stop();
  EXPECT_EQ(good, 160);
  EXPECT_GE(most, 1);
  EXPECT_LE(most, 2);
  EXPECT_LE(connections(), 2);
}

TEST_F(postgres_store, a_server_that_cannot_be_reached_is_unavailable) {
  const std::uint16_t port = parley::test::closed_loopback_port();
  try {
    (void)open_blob_store(fmt::format("postgresql://parley@127.0.0.1:{}/parley", port));
    FAIL() << "opened a store on a closed port";
  } catch (const blob_error& error) {
    EXPECT_TRUE(error.unavailable()) << error.what();
  }
}

} // namespace
} // namespace parley::blob
