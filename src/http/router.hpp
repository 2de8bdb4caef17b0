#pragma once
// Maps a method and a path to a handler. Patterns are literal segments and `{name}`
// placeholders ("/api/v1/contacts/{user_id}"); the pattern, not the path, names the route
// in metrics and logs. Built at start-up, then only read (thread-safe for matching).

#include "http/exchange.hpp"
#include "http/message.hpp"

#include <functional>
#include <string>
#include <vector>

namespace parley::http {

using handler = std::function<boost::asio::awaitable<response>(request_context&)>;

class router {
public:
  void add(beast_http::verb method, std::string pattern, handler target);
  /// A route whose handler reads the body and writes the answer itself (see exchange.hpp).
  void add_streaming(beast_http::verb method, std::string pattern, streaming_handler target);

  struct match {
    const handler* target = nullptr; ///< Null: no route (see allowed for 405 vs 404).
    const streaming_handler* streaming = nullptr; ///< Set instead of target for a streaming route.
    std::string_view route;          ///< The pattern, or "unmatched".
    std::map<std::string, std::string, std::less<>> parameters;
    std::string allowed; ///< For a path that exists with other methods: "GET, PATCH".
  };
  [[nodiscard]] match find(beast_http::verb method, std::string_view path) const;

  /// Answers GET (and HEAD) requests that no route matches, as route `name` (static files).
  void set_fallback(std::string name, handler target);

private:
  struct entry {
    beast_http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    handler target;
    streaming_handler streaming;
  };
  void add_entry(beast_http::verb method, std::string pattern, handler target,
                 streaming_handler streaming);
  std::vector<entry> entries_;
  std::string fallback_name_;
  handler fallback_;
};

} // namespace parley::http
