// What only the directory backend has: its layout, hard links instead of copies, no
// temporary file left behind, stale temporaries removed at open, no symbolic link followed.

#include "blob/directory_blob_store.hpp"

#include "blob/backends.hpp"
#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>

namespace parley::blob {
namespace {

using conformance::pattern;

class directory_store : public ::testing::Test {
protected:
  parley::testing::temporary_directory directory_;
  std::filesystem::path root_ = directory_.path() / "blobs";

  std::filesystem::path write_file(const std::filesystem::path& path,
                                   const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  static std::size_t entries(const std::filesystem::path& directory) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory)) {
      ++count;
    }
    return count;
  }
  static ino_t inode(const std::filesystem::path& path) {
    struct stat status {};
    EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
    return status.st_ino;
  }
};

TEST_F(directory_store, blobs_live_at_sha256_ab_cd_key) {
  directory_blob_store store({.root = root_});
  const auto bytes = pattern(1000, 1);
  const auto file = write_file(directory_.path() / "upload", bytes);
  const auto key = sha256_file(file);
  store.put(key, file);
  const auto expected = root_ / "sha256" / key.substr(0, 2) / key.substr(2, 2) / key;
  EXPECT_EQ(store.path_of(key), expected);
  ASSERT_TRUE(std::filesystem::is_regular_file(expected));
  EXPECT_EQ(sha256_file(expected), key);
  EXPECT_EQ(std::filesystem::file_size(expected), bytes.size());
  EXPECT_EQ(store.staging_directory(), root_ / "tmp");
  EXPECT_THROW((void)store.path_of("../../etc/passwd"), std::invalid_argument);
}

TEST_F(directory_store, a_source_on_the_same_filesystem_is_linked_and_no_temporary_is_left) {
  directory_blob_store store({.root = root_});
  const auto staged = write_file(*store.staging_directory() / "upload-1", pattern(300'000, 2));
  const auto key = sha256_file(staged);
  store.put(key, staged);
  EXPECT_EQ(inode(store.path_of(key)), inode(staged)) << "a hard link, not a copy";
  EXPECT_TRUE(std::filesystem::exists(staged)) << "the caller's file stays the caller's";
  std::filesystem::remove(staged);
  EXPECT_EQ(entries(root_ / "tmp"), 0U);
  EXPECT_EQ(sha256_file(store.path_of(key)), key);
}

TEST_F(directory_store, a_copying_store_copies_and_leaves_no_temporary) {
  directory_blob_store store({.root = root_, .link_sources = false});
  const auto staged = write_file(*store.staging_directory() / "upload-1", pattern(600'000, 3));
  const auto key = sha256_file(staged);
  store.put(key, staged);
  EXPECT_NE(inode(store.path_of(key)), inode(staged));
  std::filesystem::remove(staged);
  EXPECT_EQ(entries(root_ / "tmp"), 0U);
  EXPECT_EQ(sha256_file(store.path_of(key)), key);
}

TEST_F(directory_store, a_failed_copy_leaves_no_temporary) {
  directory_blob_store store({.root = root_, .link_sources = false});
  const auto staged = write_file(directory_.path() / "upload", pattern(600'000, 4));
  EXPECT_THROW(store.put(std::string(64, 'c'), staged), blob_error); // not its key
  EXPECT_EQ(entries(root_ / "tmp"), 0U);
}

TEST_F(directory_store, stale_temporaries_go_at_open_and_fresh_ones_stay) {
  { directory_blob_store first({.root = root_}); }
  const auto stale = write_file(root_ / "tmp" / "put-stale", pattern(10, 5));
  const auto fresh = write_file(root_ / "tmp" / "upload-fresh", pattern(10, 6));
  std::filesystem::last_write_time(stale, std::filesystem::file_time_type::clock::now() -
                                              std::chrono::hours(25));
  directory_blob_store second({.root = root_});
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(fresh));
}

TEST_F(directory_store, symbolic_links_are_not_followed) {
  directory_blob_store store({.root = root_});
  const auto secret = write_file(directory_.path() / "secret", pattern(100, 7));
  const auto key = sha256_file(secret);
  // A source that is a link is refused…
  const auto link = directory_.path() / "link";
  std::filesystem::create_symlink(secret, link);
  EXPECT_THROW(store.put(key, link), blob_error);
  EXPECT_FALSE(store.contains(key));
  // …and a blob's name that is a link is not a blob.
  const auto target = store.path_of(key);
  std::filesystem::create_directories(target.parent_path());
  std::filesystem::create_symlink(secret, target);
  EXPECT_FALSE(store.contains(key));
  EXPECT_THROW((void)store.open(key), blob_error);
}

// Two nodes sharing the directory, as two processes: each puts the same 20 blobs from files of
// its own, at the same moment (a pipe starts them together). Every put succeeds, one copy of
// each stays, and no temporary file is left.
TEST_F(directory_store, two_processes_putting_the_same_blobs_both_succeed) {
  for (const bool link : {true, false}) {
    SCOPED_TRACE(link ? "linking" : "copying");
    const auto root = directory_.path() / (link ? "linking" : "copying");
    { directory_blob_store create({.root = root}); }
    std::vector<std::string> keys;
    std::vector<std::vector<unsigned char>> contents;
    for (int blob = 0; blob < 20; ++blob) {
      contents.push_back(pattern(70'000 + static_cast<std::size_t>(blob), 100 + blob));
      for (const char* side : {"parent", "child"}) {
        write_file(root / "tmp" / fmt::format("{}-{}", side, blob), contents.back());
      }
      keys.push_back(sha256_file(root / "tmp" / fmt::format("parent-{}", blob)));
    }
    const auto put_all = [&](const char* side) {
      directory_blob_store store({.root = root, .link_sources = link});
      for (std::size_t blob = 0; blob < keys.size(); ++blob) {
        store.put(keys[blob], root / "tmp" / fmt::format("{}-{}", side, blob));
      }
    };
    int start[2];
    ASSERT_EQ(::pipe(start), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(start[1]);
      char go = 0;
      int status = ::read(start[0], &go, 1) == 1 ? 0 : 2;
      try {
        put_all("child");
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    ::close(start[0]);
    ASSERT_EQ(::write(start[1], "g", 1), 1);
    ::close(start[1]);
    EXPECT_NO_THROW(put_all("parent"));
    int status = -1;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's puts failed";
    for (std::size_t blob = 0; blob < keys.size(); ++blob) {
      for (const char* side : {"parent", "child"}) {
        std::filesystem::remove(root / "tmp" / fmt::format("{}-{}", side, blob));
      }
      directory_blob_store store({.root = root});
      auto opened = store.open(keys[blob]);
      ASSERT_NE(opened, nullptr);
      std::vector<unsigned char> bytes(contents[blob].size() + 1);
      bytes.resize(opened->read(0, bytes));
      EXPECT_EQ(bytes, contents[blob]);
    }
    EXPECT_EQ(entries(root / "tmp"), 0U);
  }
}

TEST_F(directory_store, a_reader_of_a_removed_blob_goes_on_reading) {
  directory_blob_store store({.root = root_});
  const auto bytes = pattern(100'000, 8);
  const auto file = write_file(directory_.path() / "upload", bytes);
  const auto key = sha256_file(file);
  store.put(key, file);
  auto blob = store.open(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_TRUE(store.remove(key));
  std::filesystem::remove(file);
  std::vector<unsigned char> buffer(bytes.size());
  EXPECT_EQ(blob->read(0, buffer), bytes.size());
  EXPECT_EQ(buffer, bytes);
}

TEST_F(directory_store, the_root_is_created_with_its_parents) {
  const auto deep = directory_.path() / "a" / "b" / "c";
  auto store = open_blob_store(deep.string());
  EXPECT_TRUE(std::filesystem::is_directory(deep / "sha256"));
  EXPECT_TRUE(std::filesystem::is_directory(deep / "tmp"));
  EXPECT_EQ(store->staging_directory(), deep / "tmp");
}

TEST_F(directory_store, a_root_that_cannot_be_made_fails_to_open) {
  const auto file = write_file(directory_.path() / "plain", pattern(1, 9));
  EXPECT_THROW(directory_blob_store({.root = file / "blobs"}), blob_error);
  EXPECT_THROW((void)open_blob_store(""), blob_error);
}

} // namespace
} // namespace parley::blob
