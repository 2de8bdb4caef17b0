// Runs the fuzz target's checks (fuzz/media_fuzz.cpp) in the g++ builds too, release and
// ASan+UBSan: over every seed of the committed corpus, then over deterministic mutations of
// them (a fixed seed). A broken invariant aborts the test process.

#include "fuzz/media_fuzz.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using parley::media::fuzz::check_filename_input;
using parley::media::fuzz::check_sniff_input;

int run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::vector<std::string> seeds() {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(PARLEY_MEDIA_FUZZ_CORPUS)) {
    std::ifstream file(entry.path(), std::ios::binary);
    found.emplace_back(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  return found;
}

TEST(media_fuzz_replay, every_seed_holds_the_invariants) {
  const auto corpus = seeds();
  ASSERT_GE(corpus.size(), 10U);
  for (const auto& seed : corpus) {
    EXPECT_EQ(run(seed), 0);
  }
}

TEST(media_fuzz_replay, mutations_of_the_seeds_hold_the_invariants) {
  const auto corpus = seeds();
  ASSERT_FALSE(corpus.empty());
  std::mt19937 random(20240601); // fixed: the same inputs every run
  const std::string interesting[] = {"%",
                                     "%00",
                                     "%2F",
                                     "%2E",
                                     "%C3",
                                     "%E2%80%AE",
                                     "/",
                                     "\\",
                                     ".",
                                     " ",
                                     std::string(1, '\0'),
                                     "\xFF\xD8\xFF",
                                     "RIFF",
                                     "WEBP",
                                     "GIF89a",
                                     "\x89PNG\r\n\x1A\n",
                                     "\xF0\x9F\x8E\x89"};
  // Names are cheap to check: every mutation. sniff() asks libmagic (about a millisecond):
  // one mutation in ten.
  for (int round = 0; round < 4000; ++round) {
    std::string input = corpus[random() % corpus.size()];
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int edit = 0; edit < edits; ++edit) {
      const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 5) {
      case 0: // flip a byte
        if (!input.empty()) {
          input[at % input.size()] = static_cast<char>(random());
        }
        break;
      case 1: // insert random bytes
        input.insert(at, std::string(1 + random() % 4, static_cast<char>(random())));
        break;
      case 2: // insert a token that matters to one of the parsers
        input.insert(at, interesting[random() % std::size(interesting)]);
        break;
      case 3: // erase
        if (!input.empty()) {
          input.erase(at % input.size(), 1 + random() % 4);
        }
        break;
      default: // grow past the limits: long names, past the sniffing window
        input.append(200 + random() % 400, static_cast<char>('a' + random() % 26));
        break;
      }
    }
    check_filename_input(input);
    if (round % 10 == 0) {
      check_sniff_input(input);
    }
  }
}

} // namespace
