#include "media/sniff.hpp"

#include <magic.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace parley::media {

namespace {

constexpr std::string_view octet_stream = "application/octet-stream";

// libmagic's one handle: magic_load() maps the compiled database once; magic_buffer() keeps
// its answer in the handle, so every use (and the copy of the answer) is under the mutex.
class magic_database {
public:
  magic_database() : cookie_(magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR)) {
    if (cookie_ == nullptr) {
      throw std::runtime_error("libmagic: magic_open failed");
    }
    if (magic_load(cookie_, nullptr) != 0) {
      const std::string reason = magic_error(cookie_) != nullptr ? magic_error(cookie_) : "unknown";
      magic_close(cookie_);
      throw std::runtime_error("libmagic: cannot load its database: " + reason);
    }
  }
  ~magic_database() { magic_close(cookie_); }
  magic_database(const magic_database&) = delete;
  magic_database& operator=(const magic_database&) = delete;

  std::string mime(std::string_view head) {
    std::lock_guard lock(mutex_);
    const char* answer = magic_buffer(cookie_, head.data(), head.size());
    return answer != nullptr ? std::string(answer) : std::string();
  }

private:
  std::mutex mutex_;
  magic_t cookie_;
};

magic_database& database() {
  static magic_database instance; // thread-safe initialisation; throws again on the next call
  return instance;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '+' || c == '-' || c == '_';
}

// `type/subtype` made of token characters: what may go into a Content-Type header as is.
bool is_plain_mime(std::string_view mime) {
  const auto slash = mime.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == mime.size() ||
      mime.size() > 127) {
    return false;
  }
  for (std::size_t index = 0; index < mime.size(); ++index) {
    if (index != slash && !is_token_char(mime[index])) {
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<image_format> image_signature(std::string_view head) {
  if (head.starts_with("\xFF\xD8\xFF")) {
    return image_format::jpeg;
  }
  if (head.starts_with(std::string_view("\x89PNG\r\n\x1A\n", 8))) {
    return image_format::png;
  }
  if (head.starts_with("GIF87a") || head.starts_with("GIF89a")) {
    return image_format::gif;
  }
  if (head.size() >= 12 && head.starts_with("RIFF") && head.substr(8, 4) == "WEBP") {
    return image_format::webp;
  }
  return std::nullopt;
}

std::string_view mime_of(image_format format) {
  switch (format) {
  case image_format::jpeg:
    return "image/jpeg";
  case image_format::png:
    return "image/png";
  case image_format::webp:
    return "image/webp";
  case image_format::gif:
    return "image/gif";
  }
  return octet_stream;
}

detected sniff(std::string_view head) {
  head = head.substr(0, sniff_bytes);
  if (const auto format = image_signature(head)) {
    return {format, std::string(mime_of(*format))};
  }
  std::string mime = database().mime(head);
  // One of our image types without its signature (libmagic is more lenient, e.g. with a
  // truncated one) is not an image: the mime says image/… only when `image` is set.
  const bool claims_image =
      mime == "image/jpeg" || mime == "image/png" || mime == "image/webp" || mime == "image/gif";
  if (claims_image || !is_plain_mime(mime)) {
    mime = octet_stream;
  }
  return {std::nullopt, std::move(mime)};
}

} // namespace parley::media
