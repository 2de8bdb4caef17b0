#include "http/static_files.hpp"

#include "common/text.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace parley::http {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: enough to tell two versions of a file apart for ETag.
std::uint64_t fingerprint(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  return hash;
}

bool starts_with_any(std::string_view path, std::initializer_list<std::string_view> prefixes) {
  for (const auto prefix : prefixes) {
    if (path == prefix.substr(0, prefix.size() - 1) || path.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

bool compressible(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
         content_type.starts_with("application/manifest+json") ||
         content_type.starts_with("image/svg+xml") || content_type.starts_with("application/xml");
}

} // namespace

std::string gzip(std::string_view bytes) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string result(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(result.data());
  stream.avail_out = static_cast<uInt>(result.size());
  const int outcome = deflate(&stream, Z_FINISH);
  const auto written = stream.total_out;
  deflateEnd(&stream);
  if (outcome != Z_STREAM_END) {
    throw std::runtime_error("zlib: deflate failed");
  }
  result.resize(written);
  return result;
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::size_t start = 0;
  while (start <= accept_encoding.size()) {
    auto end = accept_encoding.find(',', start);
    if (end == std::string_view::npos) {
      end = accept_encoding.size();
    }
    auto item = text::trim(accept_encoding.substr(start, end - start));
    const auto semicolon = item.find(';');
    const auto coding = text::ascii_lower(text::trim(item.substr(0, semicolon)));
    if (coding == "gzip" || coding == "*") {
      if (semicolon == std::string_view::npos) {
        return true;
      }
      // "gzip;q=0" (or 0.0, 0.000) refuses it.
      auto parameter = text::trim(item.substr(semicolon + 1));
      if (!(parameter.starts_with("q=0") &&
            parameter.find_first_not_of("0.", 2) == std::string_view::npos)) {
        return true;
      }
    }
    start = end + 1;
  }
  return false;
}

std::string_view content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> k_types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".xml", "application/xml"},
  }};
  const auto dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    const auto extension = file_name.substr(dot);
    for (const auto& [known, type] : k_types) {
      if (extension == known) {
        return type;
      }
    }
  }
  return "application/octet-stream";
}

static_files::static_files(const fs::path& root, std::size_t max_total_bytes) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return;
  }
  std::size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) {
      continue;
    }
    std::ifstream input(it->path(), std::ios::binary);
    std::ostringstream content;
    content << input.rdbuf();
    file entry;
    entry.body = std::move(content).str();
    total += entry.body.size();
    if (total > max_total_bytes) {
      throw std::runtime_error(
          fmt::format("the web client under {} is larger than {} bytes", root.string(), max_total_bytes));
    }
    const auto relative = fs::relative(it->path(), root).generic_string();
    entry.content_type = std::string(content_type_for(relative));
    entry.etag = fmt::format("\"{:016x}\"", fingerprint(entry.body));
    entry.immutable = relative.starts_with("assets/");
    if (compressible(entry.content_type) && entry.body.size() >= 1024) {
      entry.gzipped = gzip(entry.body);
      if (entry.gzipped.size() >= entry.body.size()) {
        entry.gzipped.clear();
      }
    }
    files_.emplace("/" + relative, std::move(entry));
  }
}

response static_files::answer(const request& message, const file& found) const {
  const bool zipped =
      !found.gzipped.empty() && accepts_gzip(message[beast_http::field::accept_encoding]);
  // Each encoding is its own representation, with its own tag.
  const std::string etag =
      zipped ? found.etag.substr(0, found.etag.size() - 1) + "-gzip\"" : found.etag;
  const bool unchanged = !found.immutable && message[beast_http::field::if_none_match] == etag;
  response result{unchanged ? status::not_modified : status::ok, message.version()};
  result.set(beast_http::field::content_type, found.content_type);
  result.set(beast_http::field::cache_control,
             found.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  result.set(beast_http::field::etag, etag);
  if (!found.gzipped.empty()) {
    result.set(beast_http::field::vary, "Accept-Encoding");
  }
  if (zipped) {
    result.set(beast_http::field::content_encoding, "gzip");
  }
  result.set("Content-Security-Policy", k_content_security_policy);
  result.set("X-Content-Type-Options", "nosniff");
  result.set("Referrer-Policy", "no-referrer");
  result.keep_alive(message.keep_alive());
  if (!unchanged) {
    result.body() = zipped ? found.gzipped : found.body;
  }
  result.prepare_payload();
  return result;
}

response static_files::serve(const request& message, std::string_view path) const {
  if (starts_with_any(path, {"/api/", "/socket.io/", "/engine.io/"})) {
    return error_response(message, status::not_found, "not_found", "There is nothing here.");
  }
  if (path == "/" || path.empty()) {
    path = "/index.html";
  }
  if (const auto found = files_.find(std::string(path)); found != files_.end()) {
    return answer(message, found->second);
  }
  const auto last = path.substr(path.rfind('/') + 1);
  const auto index = files_.find("/index.html");
  if (last.find('.') == std::string_view::npos && index != files_.end()) {
    return answer(message, index->second); // a client-side route
  }
  return error_response(message, status::not_found, "not_found", "There is nothing here.");
}

} // namespace parley::http
