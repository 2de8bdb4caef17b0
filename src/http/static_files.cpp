#include "http/static_files.hpp"

#include <fmt/format.h>

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

} // namespace

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
    files_.emplace("/" + relative, std::move(entry));
  }
}

response static_files::answer(const request& message, const file& found) const {
  const bool unchanged = !found.immutable && message[beast_http::field::if_none_match] == found.etag;
  response result{unchanged ? status::not_modified : status::ok, message.version()};
  result.set(beast_http::field::content_type, found.content_type);
  result.set(beast_http::field::cache_control,
             found.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  result.set(beast_http::field::etag, found.etag);
  result.set("Content-Security-Policy", k_content_security_policy);
  result.set("X-Content-Type-Options", "nosniff");
  result.set("Referrer-Policy", "no-referrer");
  result.keep_alive(message.keep_alive());
  if (!unchanged) {
    result.body() = found.body;
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
