#pragma once
// The web client's files (a Vite build: index.html, hashed assets under assets/), read into
// memory at start-up and served from there: no disk access on an I/O thread, and a file
// changed on disk after start-up is not half-served.
//
// - A path naming a file serves it with its content type. Files under /assets/ have content
//   hashes in their names and are cached for a year ("immutable"); everything else is
//   "no-cache" (revalidated with its ETag, answered 304 when unchanged). Text files are
//   gzipped once at start-up and sent so to clients that accept it.
// - Any other path whose last segment has no dot (/c/7, /settings) serves index.html, so the
//   single-page app's URLs survive a reload. Paths under /api/, /socket.io/ and /engine.io/
//   never fall back: they are 404 in the API's error shape.
// - Every answer carries a strict Content-Security-Policy: scripts, styles, images and
//   connections from this origin only, no inline script or style, no framing.

#include "http/message.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

namespace parley::http {

class static_files {
public:
  /// Reads every regular file under `root` (at most `max_total_bytes` in all; larger trees
  /// throw). A missing `root` gives an empty set (see empty()).
  explicit static_files(const std::filesystem::path& root,
                        std::size_t max_total_bytes = 64U * 1024 * 1024);

  /// True when there is no index.html to serve.
  [[nodiscard]] bool empty() const { return !files_.contains("/index.html"); }
  [[nodiscard]] std::size_t file_count() const { return files_.size(); }

  /// The answer to a GET or HEAD of `path` (without the query string).
  [[nodiscard]] response serve(const request& message, std::string_view path) const;

  /// The Content-Security-Policy of the web client.
  static constexpr std::string_view k_content_security_policy =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "font-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; "
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

private:
  struct file {
    std::string body;
    std::string gzipped; ///< Empty when not worth it.
    std::string content_type;
    std::string etag;
    bool immutable = false;
  };
  [[nodiscard]] response answer(const request& message, const file& found) const;

  std::unordered_map<std::string, file> files_; ///< By URL path ("/assets/index-1a2b.js").
};

/// `bytes` in the gzip format (best compression).
[[nodiscard]] std::string gzip(std::string_view bytes);

/// True when an Accept-Encoding header value accepts gzip.
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding);

/// The content type for a file name's extension ("application/octet-stream" when unknown).
[[nodiscard]] std::string_view content_type_for(std::string_view file_name);

} // namespace parley::http
