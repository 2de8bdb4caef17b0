#include "app/allocator.hpp"

#include <fmt/format.h>

#include <cstdlib>

#ifdef PARLEY_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace parley::app {

std::string allocator_in_use() {
#ifdef PARLEY_WITH_MIMALLOC
  // Linked is not enough: malloc must resolve to mimalloc's (a link order that put libc first
  // would leave it unused). A block from calloc says which one answered.
  void* probe = std::calloc(1, 16);
  const bool from_mimalloc = mi_is_in_heap_region(probe);
  std::free(probe);
  if (from_mimalloc) {
    const int version = mi_version(); // e.g. 209
    return fmt::format("mimalloc {}.{}.{} (freed pages returned after {} ms)", version / 100,
                       version / 10 % 10, version % 10, mi_option_get(mi_option_decommit_delay));
  }
#endif
  return "system";
}

} // namespace parley::app
