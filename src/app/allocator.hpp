#pragma once
// Which allocator the process's malloc is. Release builds link mimalloc (Debian's
// libmimalloc), which takes malloc over for the whole process (SQLite, libstdc++ and Parley
// alike): the message path allocates about 70 blocks a message, many freed on another thread
// than the one that made them, which glibc's malloc does at about twice mimalloc's cost
// (docs/performance.md, "A message under batching"). Sanitizer builds keep the sanitizers' own.

#include <string>

namespace parley::app {

// mimalloc's own settings stand: pages that fell free go back to the system after
// `decommit_delay` (25 ms). The server set it to 0 for a while, because a 1,000-member group's
// creation held 300 MiB for good otherwise; that was the group's views read whole for every
// member, since fixed, and returning pages at once cost up to a fifth of a message's CPU in
// page faults (docs/performance.md, "Freed pages kept 25 ms again"). MIMALLOC_DECOMMIT_DELAY
// in the environment changes it.

/// "mimalloc 2.0.9 (freed pages returned after 25 ms)" when mimalloc is linked and malloc's
/// blocks are its own; otherwise "system" (the C library's, or whatever took malloc over: a
/// sanitizer, an LD_PRELOAD).
[[nodiscard]] std::string allocator_in_use();

} // namespace parley::app
