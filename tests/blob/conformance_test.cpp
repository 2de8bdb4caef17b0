// The blob_store contract, on every backend (backends.hpp): put, contains, open, positioned
// reads, remove; identical bytes stored once; keys checked before anything is touched; bytes
// checked against their key; concurrent puts of one key from threads and from two stores (two
// nodes); a large blob in bounded memory.

#include "blob/backends.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <latch>
#include <thread>

namespace parley::blob::conformance {
namespace {

using blob_store_test = blob_test;
PARLEY_BLOB_BACKENDS(blob_store_test);

/// The default chunk of the PostgreSQL backend: reads below cross its boundaries.
constexpr std::size_t chunk = 256 * 1024;

TEST_P(blob_store_test, a_put_blob_is_contained_and_reads_back) {
  const auto bytes = pattern(100'000, 1);
  EXPECT_FALSE(store_->contains(absent_key));
  const auto key = put_bytes(bytes);
  EXPECT_TRUE(store_->contains(key));
  auto blob = store_->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(blob->size(), bytes.size());
  EXPECT_EQ(read_all(*blob), bytes);
  EXPECT_EQ(place_->copies(key), 1U);
  EXPECT_EQ(place_->leftovers(), 0U);
}

TEST_P(blob_store_test, an_absent_blob_opens_as_nullptr) {
  EXPECT_EQ(store_->open(absent_key), nullptr);
}

TEST_P(blob_store_test, ranges_read_at_the_start_middle_end_past_the_end_and_across_chunks) {
  const auto bytes = pattern(3 * chunk + 1234, 2);
  auto blob = store_->open(put_bytes(bytes));
  ASSERT_NE(blob, nullptr);
  const std::uint64_t size = bytes.size();
  const auto expect_range = [&](std::uint64_t offset, std::size_t length, std::size_t wanted) {
    std::vector<unsigned char> buffer(length, 0xEE);
    ASSERT_EQ(blob->read(offset, buffer), wanted) << "offset " << offset << " length " << length;
    for (std::size_t at = 0; at < wanted; ++at) {
      ASSERT_EQ(buffer[at], bytes[offset + at]) << "offset " << offset << " at " << at;
    }
    for (std::size_t at = wanted; at < length; ++at) {
      ASSERT_EQ(buffer[at], 0xEE) << "written past what was read, at " << at;
    }
  };
  expect_range(0, 10, 10);                               // the start
  expect_range(size / 2, 1000, 1000);                    // the middle
  expect_range(size - 10, 10, 10);                       // ends at the end
  expect_range(size - 10, 100, 10);                      // runs past the end: what there is
  expect_range(size, 100, 0);                            // at the end
  expect_range(size + 5000, 100, 0);                     // past the end
  expect_range(1234, 0, 0);                              // an empty buffer
  expect_range(chunk - 5, 10, 10);                       // across one chunk boundary
  expect_range(chunk, 7, 7);                             // a chunk's first bytes
  expect_range(2 * chunk - 1, 1, 1);                     // a chunk's last byte
  expect_range(chunk - 1, 2 * chunk + 2, 2 * chunk + 2); // three chunks and more
  expect_range(0, bytes.size() + 100, bytes.size());     // all of it at once
  // Backwards, in odd pieces: a reader keeps no cursor.
  std::vector<unsigned char> buffer(70'001);
  for (std::uint64_t end = size; end > 0;) {
    const std::uint64_t start = end > buffer.size() ? end - buffer.size() : 0;
    const auto got = blob->read(start, std::span(buffer).first(end - start));
    ASSERT_EQ(got, end - start);
    ASSERT_TRUE(std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got),
                           bytes.begin() + static_cast<std::ptrdiff_t>(start)));
    end = start;
  }
}

TEST_P(blob_store_test, an_empty_blob_is_a_blob) {
  const auto key = put_bytes({});
  EXPECT_EQ(key, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(store_->contains(key));
  auto blob = store_->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(blob->size(), 0U);
  std::vector<unsigned char> buffer(10);
  EXPECT_EQ(blob->read(0, buffer), 0U);
  EXPECT_TRUE(store_->remove(key));
}

TEST_P(blob_store_test, identical_bytes_put_twice_are_stored_once) {
  const auto bytes = pattern(chunk + 17, 3);
  const auto first = put_bytes(bytes);
  const auto before = place_->contents();
  const auto second = put_bytes(bytes); // another file with the same bytes
  EXPECT_EQ(first, second);
  EXPECT_EQ(place_->copies(first), 1U);
  EXPECT_EQ(place_->contents(), before) << "the second put changed nothing";
  EXPECT_EQ(read_all(first), bytes);
}

TEST_P(blob_store_test, a_removed_blob_is_gone_and_can_come_back) {
  const auto bytes = pattern(2 * chunk, 4);
  const auto key = put_bytes(bytes);
  const auto kept = put_bytes(pattern(1000, 5));
  EXPECT_TRUE(store_->remove(key));
  EXPECT_FALSE(store_->contains(key));
  EXPECT_EQ(store_->open(key), nullptr);
  EXPECT_EQ(place_->copies(key), 0U);
  EXPECT_EQ(place_->leftovers(), 0U);
  EXPECT_TRUE(store_->contains(kept)) << "only that blob went";
  EXPECT_FALSE(store_->remove(key)) << "a second remove finds nothing";
  EXPECT_EQ(put_bytes(bytes), key);
  EXPECT_EQ(read_all(key), bytes);
}

TEST_P(blob_store_test, removing_an_absent_blob_answers_false) {
  EXPECT_FALSE(store_->remove(absent_key));
}

TEST_P(blob_store_test, invalid_keys_are_refused_before_anything_is_touched) {
  const auto file = write_file(pattern(100, 6));
  const auto missing = sources_.path() / "no-such-file";
  const auto before = place_->contents();
  const std::string upper(64, 'A');
  const std::string hex(64, 'b');
  for (const std::string& key :
       {std::string("../x"), std::string(), upper, hex.substr(0, 63), hex + "b",
        std::string("../../../../etc/passwd") + std::string(42, 'a'), hex.substr(0, 63) + "g",
        hex.substr(0, 63) + "/", hex.substr(0, 32) + std::string(1, '\0') + hex.substr(0, 31)}) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(valid_key(key));
    EXPECT_THROW(store_->put(key, file), std::invalid_argument);
    // Refused before the file is even opened: a missing one fails the same way.
    EXPECT_THROW(store_->put(key, missing), std::invalid_argument);
    EXPECT_THROW((void)store_->contains(key), std::invalid_argument);
    EXPECT_THROW((void)store_->open(key), std::invalid_argument);
    EXPECT_THROW(store_->remove(key), std::invalid_argument);
  }
  EXPECT_EQ(place_->contents(), before);
}

TEST_P(blob_store_test, bytes_that_are_not_their_keys_are_refused_and_nothing_is_stored) {
  const auto bytes = pattern(chunk + 100, 7);
  const auto file = write_file(bytes);
  const auto before = place_->contents();
  const auto other = sha256_file(write_file(pattern(chunk + 100, 8)));
  EXPECT_THROW(store_->put(other, file), blob_error);
  EXPECT_THROW(store_->put(absent_key, file), blob_error);
  EXPECT_FALSE(store_->contains(other));
  EXPECT_FALSE(store_->contains(absent_key));
  EXPECT_EQ(place_->leftovers(), 0U);
  EXPECT_EQ(place_->contents(), before);
  // The store goes on: the right key stores it.
  store_->put(sha256_file(file), file);
  EXPECT_EQ(read_all(sha256_file(file)), bytes);
}

TEST_P(blob_store_test, a_put_whose_source_vanished_fails_cleanly) {
  const auto file = write_file(pattern(5000, 9));
  const auto key = sha256_file(file);
  std::filesystem::remove(file);
  const auto before = place_->contents();
  try {
    store_->put(key, file);
    FAIL() << "put of a missing file succeeded";
  } catch (const blob_error& error) {
    EXPECT_FALSE(error.unavailable()) << error.what();
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
  EXPECT_FALSE(store_->contains(key));
  EXPECT_EQ(place_->contents(), before);
}

TEST_P(blob_store_test, a_directory_is_not_a_file_to_put) {
  EXPECT_THROW(store_->put(absent_key, sources_.path()), blob_error);
  EXPECT_FALSE(store_->contains(absent_key));
}

TEST_P(blob_store_test, concurrent_puts_of_one_key_from_four_threads_all_succeed) {
  const auto bytes = pattern(3 * chunk + 99, 10);
  std::vector<std::filesystem::path> files;
  for (int thread = 0; thread < 4; ++thread) {
    files.push_back(write_file(bytes));
  }
  const auto key = sha256_file(files[0]);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    std::latch start(4);
    std::vector<std::string> failures(4);
    std::vector<std::thread> threads;
    for (std::size_t thread = 0; thread < 4; ++thread) {
      threads.emplace_back([&, thread] {
        start.arrive_and_wait();
        try {
          store_->put(key, files[thread]);
        } catch (const std::exception& error) {
          failures[thread] = error.what();
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    for (const auto& failure : failures) {
      EXPECT_EQ(failure, "");
    }
    EXPECT_EQ(place_->copies(key), 1U);
    EXPECT_EQ(place_->leftovers(), 0U);
    EXPECT_EQ(read_all(key), bytes);
    ASSERT_TRUE(store_->remove(key));
  }
}

TEST_P(blob_store_test, two_stores_on_one_place_are_two_nodes_sharing_blobs) {
  const auto other = place_->open();
  const auto bytes = pattern(chunk + 5, 11);
  const auto key = put_bytes(bytes);
  EXPECT_TRUE(other->contains(key));
  auto blob = other->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(read_all(*blob), bytes);

  // Both nodes put the same new bytes at once, two threads each.
  const auto shared = pattern(2 * chunk + 3, 12);
  std::vector<std::filesystem::path> files;
  for (int thread = 0; thread < 4; ++thread) {
    files.push_back(write_file(shared));
  }
  const auto shared_key = sha256_file(files[0]);
  std::latch start(4);
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  for (std::size_t thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&, thread] {
      auto& node = thread % 2 == 0 ? *store_ : *other;
      start.arrive_and_wait();
      try {
        node.put(shared_key, files[thread]);
        ++stored;
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(stored, 4);
  EXPECT_EQ(place_->copies(shared_key), 1U);
  EXPECT_EQ(read_all(shared_key), shared);
  EXPECT_TRUE(other->remove(shared_key));
  EXPECT_FALSE(store_->contains(shared_key));
}

TEST_P(blob_store_test, readers_in_several_threads_read_at_once) {
  const auto bytes = pattern(2 * chunk + 1, 13);
  const auto key = put_bytes(bytes);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int thread = 0; thread < 6; ++thread) {
    threads.emplace_back([&, thread] {
      auto blob = store_->open(key);
      if (blob && read_all(*blob, 10'000 + static_cast<std::size_t>(thread) * 977) == bytes) {
        ++good;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(good, 6);
}

TEST_P(blob_store_test, a_reader_outlives_its_store) {
  const auto bytes = pattern(chunk + 1, 14);
  auto blob = store_->open(put_bytes(bytes));
  ASSERT_NE(blob, nullptr);
  store_.reset();
  EXPECT_EQ(read_all(*blob), bytes);
}

TEST_P(blob_store_test, open_blob_store_opens_the_same_place) {
  const auto bytes = pattern(1000, 15);
  const auto key = put_bytes(bytes);
  const auto again = open_blob_store(place_->where());
  EXPECT_TRUE(again->contains(key));
  auto blob = again->open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(read_all(*blob), bytes);
}

// 20 MB, generated and hashed in pieces, put, then read back in 64 KiB pieces and hashed:
// nothing along the way holds the whole blob (the live heap never grows by more than a few
// chunks).
TEST_P(blob_store_test, a_large_blob_round_trips_in_bounded_memory) {
  constexpr std::size_t total = 20 * 1024 * 1024;
  constexpr std::size_t bound = 8 * 1024 * 1024;
  const auto file = sources_.path() / "large";
  sha256 written;
  {
    std::ofstream out(file, std::ios::binary);
    for (std::size_t at = 0; at < total; at += 1024 * 1024) {
      const auto piece = pattern(1024 * 1024, 100 + at);
      written.update(piece);
      out.write(reinterpret_cast<const char*>(piece.data()),
                static_cast<std::streamsize>(piece.size()));
    }
    ASSERT_TRUE(out.good());
  }
  const auto key = written.hex_digest();
  EXPECT_EQ(sha256_file(file), key);
  {
    heap_watch heap;
    store_->put(key, file);
    heap.sample();
    RecordProperty("put_heap_growth", std::to_string(heap.peak_growth()));
    EXPECT_LT(heap.peak_growth(), bound) << "put";
  }
  std::filesystem::remove(file);
  heap_watch heap;
  auto blob = store_->open(key);
  ASSERT_NE(blob, nullptr);
  ASSERT_EQ(blob->size(), total);
  sha256 read;
  std::vector<unsigned char> buffer(64 * 1024);
  std::uint64_t offset = 0;
  while (const auto got = blob->read(offset, buffer)) {
    read.update(std::span(buffer).first(got));
    offset += got;
    heap.sample();
  }
  EXPECT_EQ(offset, total);
  EXPECT_EQ(read.hex_digest(), key);
  RecordProperty("read_heap_growth", std::to_string(heap.peak_growth()));
  EXPECT_LT(heap.peak_growth(), bound) << "read";
}

} // namespace
} // namespace parley::blob::conformance
