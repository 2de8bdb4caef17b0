// The upload and media routes (API.md "Attachments and profile pictures"): POST
// /api/v1/uploads, GET /media/{id} and /media/{id}/thumbnail, PUT and DELETE
// /api/v1/me/avatar. Bodies and answers stream (http/exchange.hpp): nothing holds a whole file
// in memory.

#include "api/chat_routes.hpp"
#include "api/request_guard.hpp"
#include "api/upload_routes.hpp"
#include "chat/json.hpp"
#include "media/filename.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <vector>

namespace parley::api {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using asio::awaitable;
using http::status;
using verb = beast_http::verb;

constexpr std::size_t k_piece_bytes = 256 * 1024;

unix_ms unix_now_ms() { return system_clock().now_ms(); }
// Media answers are never rendered as a page: no script, no plugin, no same-origin access,
// whatever a browser makes of the bytes.
constexpr std::string_view k_media_policy = "default-src 'none'; img-src 'self'; sandbox";

http::response upload_error_answer(const http::request& message, const uploads::upload_error& failure) {
  status code = status::too_many_requests;
  std::string_view error = "rate_limited";
  switch (failure.kind) {
  case uploads::failure::too_large:
    code = status::payload_too_large;
    error = "too_large";
    break;
  case uploads::failure::quota_exceeded:
    code = status::payload_too_large;
    error = "quota_exceeded";
    break;
  case uploads::failure::bad_image:
    code = status::unprocessable_entity;
    error = "bad_image";
    break;
  case uploads::failure::rate_limited:
  case uploads::failure::busy:
    break;
  }
  auto answer = http::error_response(message, code, error, failure.message);
  if (failure.retry_after) {
    http::set_retry_after(answer, std::chrono::duration_cast<std::chrono::seconds>(
                                      *failure.retry_after + std::chrono::milliseconds(999)));
  }
  return answer;
}

/// Reads the body into the upload service and stores it; the error answer otherwise (then the
/// body may be unread, and the connection closes after it).
awaitable<std::expected<store::upload_row, http::response>>
receive(http::exchange& call, const dependencies& with, store::id owner, bool image_only) {
  const auto& message = call.context().message;
  auto& service = *with.uploads;
  const auto declared = call.content_length();
  if (auto refusal = co_await service.admit(owner, declared, unix_now_ms())) {
    co_return std::unexpected(upload_error_answer(message, *refusal));
  }
  std::string name = media::decode_filename(message["X-Filename"]);
  auto bytes = service.receive();
  const auto limit = service.settings().max_upload_bytes;
  std::vector<char> piece(k_piece_bytes);
  while (const auto got = co_await call.read_some(piece)) {
    if (bytes->size() + got > limit) {
      co_return std::unexpected(upload_error_answer(
          message, uploads::upload_error{uploads::failure::too_large,
                                         fmt::format("A file may be at most {} bytes.", limit),
                                         std::nullopt}));
    }
    bytes->write(std::span<const char>(piece.data(), got));
  }
  auto stored = co_await service.store(owner, *bytes, std::move(name), image_only, unix_now_ms());
  if (!stored) {
    co_return std::unexpected(upload_error_answer(message, stored.error()));
  }
  co_return std::move(*stored);
}

awaitable<void> post_upload(http::exchange& call, const dependencies& with) {
  auto caller = co_await require_caller(call.context(), with);
  if (!caller) {
    co_await call.respond(std::move(caller.error()));
    co_return;
  }
  auto stored = co_await receive(call, with, caller->who.user.user_id, false);
  if (!stored) {
    co_await call.respond(std::move(stored.error()));
    co_return;
  }
  boost::json::object body;
  body["upload"] = chat::upload_json(*stored);
  co_await call.respond(http::json_response(call.context().message, status::created, body));
}

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

/// One range of `Range: bytes=…` over `size` bytes: nullopt for the whole (no header, several
/// ranges, or one that cannot be parsed: RFC 9110 lets a server ignore them); a length of 0
/// when it cannot be satisfied.
std::optional<byte_range> requested_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (!header.starts_with(unit) || header.find(',') != std::string_view::npos) {
    return std::nullopt;
  }
  header.remove_prefix(unit.size());
  const auto dash = header.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  const auto first_text = header.substr(0, dash);
  const auto last_text = header.substr(dash + 1);
  if (first_text.empty()) { // the last N bytes
    const auto suffix = number(last_text);
    if (!suffix) {
      return std::nullopt;
    }
    const auto length = std::min(*suffix, size);
    return byte_range{size - length, length};
  }
  const auto first = number(first_text);
  if (!first) {
    return std::nullopt;
  }
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto given = number(last_text);
    if (!given || *given < *first) {
      return std::nullopt;
    }
    last = std::min(last, *given);
  }
  if (*first >= size) {
    return byte_range{0, 0};
  }
  return byte_range{*first, last - *first + 1};
}

awaitable<void> get_media(http::exchange& call, const dependencies& with, bool thumbnail) {
  auto& context = call.context();
  const auto& message = context.message;
  auto caller = co_await require_caller(context, with);
  if (!caller) {
    co_await call.respond(std::move(caller.error()));
    co_return;
  }
  const auto not_found = [&] {
    return http::error_response(message, status::not_found, "not_found", "There is no such file.");
  };
  const auto upload_id = path_id(context, "id");
  std::optional<store::upload_row> upload;
  if (upload_id) {
    upload = co_await with.uploads->readable(*upload_id, caller->who.user.user_id);
  }
  if (!upload || (thumbnail && !upload->thumbnail_blob)) {
    co_await call.respond(not_found());
    co_return;
  }
  const std::string key = thumbnail ? *upload->thumbnail_blob : upload->blob;
  const bool image = upload->kind == store::upload_kind::image;
  const std::string etag = fmt::format("\"{}\"", key);
  const auto set_common = [&](auto& answer) {
    answer.set(beast_http::field::etag, etag);
    answer.set(beast_http::field::cache_control, "private, no-cache");
    answer.set("X-Content-Type-Options", "nosniff");
    answer.set("Content-Security-Policy", k_media_policy);
    answer.set("Cross-Origin-Resource-Policy", "same-origin");
  };
  if (const auto match = message[beast_http::field::if_none_match];
      !match.empty() && (match == "*" || match.find(etag) != std::string_view::npos)) {
    auto answer = http::empty_response(message, status::not_modified);
    set_common(answer);
    co_await call.respond(std::move(answer));
    co_return;
  }
  const auto bytes = co_await with.uploads->open(key);
  if (!bytes) {
    spdlog::error("uploads.missing_blob upload={} key={}", upload->upload_id, key);
    co_await call.respond(not_found());
    co_return;
  }
  const std::uint64_t size = bytes->size();
  std::optional<byte_range> range;
  const auto if_range = message[beast_http::field::if_range];
  if (if_range.empty() || if_range == etag) {
    range = requested_range(message[beast_http::field::range], size);
  }
  beast_http::response_header<> header;
  header.version(message.version());
  set_common(header);
  header.set(beast_http::field::accept_ranges, "bytes");
  if (range && range->length == 0) {
    auto answer = http::error_response(message, status::range_not_satisfiable,
                                       "range_not_satisfiable", "That range is past the end.");
    answer.set(beast_http::field::content_range, fmt::format("bytes */{}", size));
    co_await call.respond(std::move(answer));
    co_return;
  }
  const std::uint64_t first = range ? range->first : 0;
  const std::uint64_t length = range ? range->length : size;
  header.result(range ? status::partial_content : status::ok);
  if (range) {
    header.set(beast_http::field::content_range,
               fmt::format("bytes {}-{}/{}", first, first + length - 1, size));
  }
  // Only the re-encoded images are shown; everything else is a download, whatever it is.
  header.set(beast_http::field::content_type,
             image ? (thumbnail ? *upload->thumbnail_mime : upload->mime) : "application/octet-stream");
  header.set(beast_http::field::content_disposition,
             media::content_disposition(image ? "inline" : "attachment", upload->name));
  header.set(beast_http::field::content_length, std::to_string(length));
  co_await call.begin(std::move(header));
  if (call.head_only()) {
    co_return;
  }
  std::vector<char> piece(static_cast<std::size_t>(std::min<std::uint64_t>(k_piece_bytes, length)));
  std::uint64_t sent = 0;
  while (sent < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), length - sent));
    const auto got = co_await with.uploads->read(bytes, first + sent,
                                                 std::span<char>(piece.data(), want));
    if (got == 0) {
      throw std::runtime_error("a blob ended before its size"); // the connection closes
    }
    co_await call.write(std::span<const char>(piece.data(), got));
    sent += got;
  }
}

awaitable<void> put_avatar(http::exchange& call, const dependencies& with) {
  auto caller = co_await require_caller(call.context(), with);
  if (!caller) {
    co_await call.respond(std::move(caller.error()));
    co_return;
  }
  const auto user = caller->who.user.user_id;
  auto stored = co_await receive(call, with, user, true);
  if (!stored) {
    co_await call.respond(std::move(stored.error()));
    co_return;
  }
  co_await with.uploads->set_avatar(user, stored->upload_id);
  auto me = caller->who.user;
  me.avatar_upload_id = stored->upload_id;
  if (with.chat != nullptr) {
    co_await with.chat->profile_changed(user);
  }
  boost::json::object body;
  body["user"] = chat::own_user_json(me);
  co_await call.respond(http::json_response(call.context().message, status::ok, body));
}

awaitable<http::response> delete_avatar(http::request_context& context, const dependencies& with) {
  auto caller = co_await require_caller(context, with);
  if (!caller) {
    co_return std::move(caller.error());
  }
  const auto user = caller->who.user.user_id;
  co_await with.uploads->set_avatar(user, std::nullopt);
  if (with.chat != nullptr) {
    co_await with.chat->profile_changed(user);
  }
  co_return http::empty_response(context.message, status::no_content);
}

} // namespace

void add_upload_routes(http::router& routes, const dependencies& with) {
  routes.add_streaming(verb::post, "/api/v1/uploads",
                       [&with](http::exchange& call) { return post_upload(call, with); });
  routes.add_streaming(verb::get, "/media/{id}",
                       [&with](http::exchange& call) { return get_media(call, with, false); });
  routes.add_streaming(verb::get, "/media/{id}/thumbnail",
                       [&with](http::exchange& call) { return get_media(call, with, true); });
  routes.add_streaming(verb::put, "/api/v1/me/avatar",
                       [&with](http::exchange& call) { return put_avatar(call, with); });
  routes.add(verb::delete_, "/api/v1/me/avatar",
             [&with](http::request_context& context) { return delete_avatar(context, with); });
}

} // namespace parley::api
