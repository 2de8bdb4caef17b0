#pragma once
// The real PostgreSQL and Redis of the tests, started by the `services` ctest fixture
// (scripts/test-services.sh): a test declared with parley_add_test(... SERVICES) gets
// PARLEY_TEST_SERVICES=<dir>, where the fixture wrote postgres.url and redis.url.
//
// These instances are shared by every test of the run: a test may create and drop what it
// likes inside them, but one that stops or restarts a server starts its own instead.
//
// Without the fixture these throw (the test fails, saying how to run it): a test that needs
// PostgreSQL or Redis never passes by skipping.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace parley::test {

// The directory of the running services ($PARLEY_TEST_SERVICES).
inline std::filesystem::path services_directory() {
  const char* directory = std::getenv("PARLEY_TEST_SERVICES");
  if (directory == nullptr || *directory == '\0') {
    throw std::runtime_error(
        "PARLEY_TEST_SERVICES is not set: this test needs the real PostgreSQL and Redis. "
        "Run it through ctest (declared with parley_add_test(... SERVICES), which requires the "
        "`services` fixture), or start them by hand: scripts/test-services.sh start DIR, then "
        "PARLEY_TEST_SERVICES=DIR");
  }
  return directory;
}

namespace detail {

inline std::string read_service_file(const char* name) {
  const std::filesystem::path path = services_directory() / name;
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    throw std::runtime_error("cannot read " + path.string() +
                             ": are the test services running? (scripts/test-services.sh start " +
                             services_directory().string() + ")");
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  if (line.empty()) {
    throw std::runtime_error(path.string() + " is empty");
  }
  return line;
}

} // namespace detail

// postgresql://parley@127.0.0.1:PORT/parley (superuser `parley`, trust on loopback): a libpq
// connection string as it is.
inline std::string postgres_url() { return detail::read_service_file("postgres.url"); }

// redis://127.0.0.1:PORT
inline std::string redis_url() { return detail::read_service_file("redis.url"); }

} // namespace parley::test
