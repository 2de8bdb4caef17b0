#pragma once
// An io_context whose queue, once it is stopped, can be emptied before it is destroyed.

#include <boost/asio/io_context.hpp>

namespace parley::app {

class io_context : public boost::asio::io_context {
public:
  using boost::asio::io_context::io_context;

  /// Destroys the handlers left in the queue of this stopped context (they would never run),
  /// while the other contexts exist. A handler of one context can hold a strand of another (a
  /// push planner on the outbound context awaiting presence on the cluster's): destroyed with
  /// its own context after the other one was gone, it would touch that one's freed strand
  /// service. So every context is emptied first, and only then any is destroyed. Call once no
  /// thread runs the context. Its destructor does the rest (shutting down twice is harmless).
  void discard_pending() { shutdown(); }
};

} // namespace parley::app
