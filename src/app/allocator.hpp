#pragma once
// Which allocator the process's malloc is. Release builds link mimalloc (Debian's
// libmimalloc), which takes malloc over for the whole process (SQLite, libstdc++ and Parley
// alike): the message path allocates about 70 blocks a message, many freed on another thread
// than the one that made them, which glibc's malloc does at about twice mimalloc's cost
// (docs/performance.md, "A message under batching"). Sanitizer builds keep the sanitizers' own.

#include <string>

namespace parley::app {

/// "mimalloc 2.0.9" when mimalloc is linked and malloc's blocks are its own; otherwise "system"
/// (the C library's, or whatever took malloc over: a sanitizer, an LD_PRELOAD).
[[nodiscard]] std::string allocator_in_use();

} // namespace parley::app
