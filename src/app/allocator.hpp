#pragma once
// Which allocator the process's malloc is. Release builds link mimalloc (Debian's
// libmimalloc), which takes malloc over for the whole process (SQLite, libstdc++ and Parley
// alike): the message path allocates about 70 blocks a message, many freed on another thread
// than the one that made them, which glibc's malloc does at about twice mimalloc's cost
// (docs/performance.md, "A message under batching"). Sanitizer builds keep the sanitizers' own.

#include <string>

namespace parley::app {

/// Sets the allocator up for a long-running server; first thing in main(), before any thread.
/// mimalloc gives pages that fell free back to the system after `decommit_delay` (25 ms), but
/// applies that delayed release only during later allocator work on the thread that owns
/// them: a burst's memory stayed with the process (the fan-out benchmark held 260 MiB where
/// glibc's malloc held 52; docs/performance.md, "Memory under fan-out"). So the delay is 0
/// unless MIMALLOC_DECOMMIT_DELAY says otherwise. Does nothing without mimalloc.
void configure_allocator();

/// "mimalloc 2.0.9 (freed pages returned after 0 ms)" when mimalloc is linked and malloc's
/// blocks are its own; otherwise "system" (the C library's, or whatever took malloc over: a
/// sanitizer, an LD_PRELOAD).
[[nodiscard]] std::string allocator_in_use();

} // namespace parley::app
