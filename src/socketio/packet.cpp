#include "socketio/packet.hpp"

#include "common/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cassert>

namespace parley::socketio {
namespace {

constexpr std::array<std::string_view, 6> k_reserved_event_names{
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

// The code unit of a "\uXXXX" escape starting at `at` (the backslash), if it is one.
std::optional<unsigned> escaped_unit(std::string_view json, std::size_t at) {
  if (at + 6 > json.size() || json[at] != '\\' || json[at + 1] != 'u') {
    return std::nullopt;
  }
  unsigned unit = 0;
  for (std::size_t index = at + 2; index < at + 6; ++index) {
    const char digit = json[index];
    unit <<= 4;
    if (digit >= '0' && digit <= '9') {
      unit |= unsigned(digit - '0');
    } else if (digit >= 'a' && digit <= 'f') {
      unit |= unsigned(digit - 'a' + 10);
    } else if (digit >= 'A' && digit <= 'F') {
      unit |= unsigned(digit - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return unit;
}

// `json` with every escaped lone surrogate replaced by \ufffd; nullopt when there is none
// (then the JSON is broken for another reason).
std::optional<std::string> replace_lone_surrogates(std::string_view json) {
  std::string result;
  result.reserve(json.size());
  bool replaced = false;
  bool in_string = false;
  for (std::size_t index = 0; index < json.size();) {
    const char character = json[index];
    if (!in_string) {
      in_string = character == '"';
      result += character;
      ++index;
      continue;
    }
    if (character == '"') {
      in_string = false;
      result += character;
      ++index;
      continue;
    }
    if (character != '\\') {
      result += character;
      ++index;
      continue;
    }
    const auto unit = escaped_unit(json, index);
    if (!unit) { // another escape: copy it whole
      result.append(json.substr(index, std::min<std::size_t>(2, json.size() - index)));
      index += 2;
      continue;
    }
    const bool high = *unit >= 0xD800 && *unit <= 0xDBFF;
    const bool low = *unit >= 0xDC00 && *unit <= 0xDFFF;
    if (high) {
      const auto next = escaped_unit(json, index + 6);
      if (next && *next >= 0xDC00 && *next <= 0xDFFF) { // a proper pair
        result.append(json.substr(index, 12));
        index += 12;
        continue;
      }
    }
    if (high || low) {
      result += "\\ufffd";
      replaced = true;
    } else {
      result.append(json.substr(index, 6));
    }
    index += 6;
  }
  if (!replaced) {
    return std::nullopt;
  }
  return result;
}

bool is_digit(char character) {
  return character >= '0' && character <= '9';
}

bool has_attachments(packet_type type) {
  return type == packet_type::binary_event || type == packet_type::binary_ack;
}

bool is_event(packet_type type) {
  return type == packet_type::event || type == packet_type::binary_event;
}

bool is_ack(packet_type type) {
  return type == packet_type::ack || type == packet_type::binary_ack;
}

/// The header and payload of one text message; attachments still to come.
struct decoded_text {
  packet content;
  std::size_t attachment_count = 0;
};

std::expected<std::size_t, decode_error> read_attachment_count(std::string_view text,
                                                               std::size_t& position) {
  const std::size_t dash = text.find('-', position);
  if (dash == std::string_view::npos || dash == position) {
    return std::unexpected(decode_error::bad_attachment_count);
  }
  const std::string_view digits = text.substr(position, dash - position);
  if (!std::ranges::all_of(digits, is_digit)) {
    return std::unexpected(decode_error::bad_attachment_count);
  }
  std::size_t count = 0;
  for (const char digit : digits) {
    count = count * 10 + static_cast<std::size_t>(digit - '0');
    if (count > k_max_attachments) {
      return std::unexpected(decode_error::too_many_attachments);
    }
  }
  position = dash + 1;
  return count;
}

std::expected<std::uint64_t, decode_error> read_id(std::string_view text, std::size_t& position) {
  std::uint64_t id = 0;
  while (position < text.size() && is_digit(text[position])) {
    const auto digit = static_cast<std::uint64_t>(text[position] - '0');
    if (id > (k_max_ack_id - digit) / 10) {
      return std::unexpected(decode_error::bad_id);
    }
    id = id * 10 + digit;
    ++position;
  }
  return id;
}

std::expected<void, decode_error> check_shape(packet_type type, const boost::json::value* data) {
  const auto shape_error = std::unexpected(decode_error::bad_payload_shape);
  switch (type) {
  case packet_type::connect:
    if (data != nullptr && !data->is_object()) {
      return shape_error;
    }
    return {};
  case packet_type::disconnect:
    if (data != nullptr) {
      return shape_error;
    }
    return {};
  case packet_type::event:
  case packet_type::binary_event: {
    const boost::json::array* arguments = data != nullptr ? data->if_array() : nullptr;
    if (arguments == nullptr || arguments->empty()) {
      return shape_error;
    }
    const boost::json::value& name = arguments->front();
    if (name.is_number()) {
      return {};
    }
    if (!name.is_string()) {
      return shape_error;
    }
    const std::string_view name_text = name.get_string();
    if (std::ranges::find(k_reserved_event_names, name_text) != k_reserved_event_names.end()) {
      return std::unexpected(decode_error::reserved_event_name);
    }
    return {};
  }
  case packet_type::ack:
  case packet_type::binary_ack:
    if (data == nullptr || !data->is_array()) {
      return shape_error;
    }
    return {};
  case packet_type::connect_error:
    if (data == nullptr || !(data->is_object() || data->is_string())) {
      return shape_error;
    }
    return {};
  }
  return shape_error;
}

/// Marks the placeholders found in `value` (depth-first) in `seen`; false on a bad one.
bool collect_placeholders(const boost::json::value& value, std::vector<bool>& seen,
                          std::size_t& found) {
  if (const boost::json::array* elements = value.if_array()) {
    return std::ranges::all_of(*elements, [&](const boost::json::value& element) {
      return collect_placeholders(element, seen, found);
    });
  }
  const boost::json::object* members = value.if_object();
  if (members == nullptr) {
    return true;
  }
  const boost::json::value* marker = members->if_contains("_placeholder");
  if (marker == nullptr || !marker->is_bool() || !marker->get_bool()) {
    return std::ranges::all_of(*members, [&](const boost::json::key_value_pair& member) {
      return collect_placeholders(member.value(), seen, found);
    });
  }
  const boost::json::value* num = members->if_contains("num");
  if (num == nullptr) {
    return false;
  }
  std::uint64_t index = 0;
  if (const std::int64_t* signed_num = num->if_int64()) {
    if (*signed_num < 0) {
      return false;
    }
    index = static_cast<std::uint64_t>(*signed_num);
  } else if (const std::uint64_t* unsigned_num = num->if_uint64()) {
    index = *unsigned_num;
  } else {
    return false;
  }
  if (index >= seen.size() || seen[index]) {
    return false;
  }
  seen[index] = true;
  ++found;
  return true;
}

std::expected<decoded_text, decode_error> decode_message(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '6') {
    return std::unexpected(decode_error::bad_type);
  }
  decoded_text result;
  packet& content = result.content;
  content.type = static_cast<packet_type>(text.front() - '0');
  std::size_t position = 1;

  if (has_attachments(content.type)) {
    auto count = read_attachment_count(text, position);
    if (!count) {
      return std::unexpected(count.error());
    }
    result.attachment_count = *count;
  }

  if (position < text.size() && text[position] == '/') {
    const std::size_t comma = text.find(',', position);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view nsp = text.substr(position, end - position);
    if (nsp.size() > k_max_namespace_length || text::has_control_characters(nsp)) {
      return std::unexpected(decode_error::bad_namespace);
    }
    content.nsp = nsp;
    position = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (position < text.size() && is_digit(text[position])) {
    auto id = read_id(text, position);
    if (!id) {
      return std::unexpected(id.error());
    }
    content.id = *id;
  }

  const std::string_view json = text.substr(position);
  if (!json.empty()) {
    boost::json::parse_options options;
    options.max_depth = k_max_json_depth;
    boost::system::error_code error;
    content.data = boost::json::parse(json, error, {}, options);
    if (error) {
      // Boost.JSON refuses escaped lone surrogates; read them as U+FFFD and say so.
      const auto repaired = replace_lone_surrogates(json);
      if (!repaired) {
        return std::unexpected(decode_error::bad_json);
      }
      error.clear();
      content.data = boost::json::parse(*repaired, error, {}, options);
      if (error) {
        return std::unexpected(decode_error::bad_json);
      }
      content.replaced_lone_surrogates = true;
    }
  }
  if (auto shape = check_shape(content.type, json.empty() ? nullptr : &content.data); !shape) {
    return std::unexpected(shape.error());
  }

  if (has_attachments(content.type)) {
    std::vector<bool> seen(result.attachment_count, false);
    std::size_t found = 0;
    if (!collect_placeholders(content.data, seen, found) || found != result.attachment_count) {
      return std::unexpected(decode_error::bad_placeholder);
    }
  }
  return result;
}

} // namespace

boost::json::value make_placeholder(std::size_t num) {
  return boost::json::object{{"_placeholder", true}, {"num", static_cast<std::int64_t>(num)}};
}

std::string_view describe(decode_error error) {
  switch (error) {
  case decode_error::bad_type:
    return "bad packet type";
  case decode_error::bad_attachment_count:
    return "bad attachment count";
  case decode_error::too_many_attachments:
    return "too many attachments";
  case decode_error::bad_placeholder:
    return "attachment placeholders do not match the attachment count";
  case decode_error::bad_namespace:
    return "bad namespace";
  case decode_error::bad_id:
    return "ack id too large";
  case decode_error::bad_json:
    return "payload is not valid JSON";
  case decode_error::bad_payload_shape:
    return "payload has the wrong shape for its packet type";
  case decode_error::reserved_event_name:
    return "reserved event name";
  case decode_error::unexpected_binary:
    return "binary message when no attachment is expected";
  case decode_error::unexpected_text:
    return "text message while attachments are expected";
  }
  return "invalid packet";
}

encoded encode(const packet& outgoing) {
  packet_type type = outgoing.type;
  const bool carries_binary = !outgoing.attachments.empty();
  if (is_event(type)) {
    type = carries_binary ? packet_type::binary_event : packet_type::event;
  } else if (is_ack(type)) {
    type = carries_binary ? packet_type::binary_ack : packet_type::ack;
  }
  assert(!carries_binary || has_attachments(type));
  assert(outgoing.nsp.empty() || outgoing.nsp.front() == '/');

  encoded result;
  result.text += static_cast<char>('0' + static_cast<int>(type));
  if (has_attachments(type)) {
    result.text += std::to_string(outgoing.attachments.size());
    result.text += '-';
    result.attachments = outgoing.attachments;
  }
  if (!outgoing.nsp.empty() && outgoing.nsp != "/") {
    result.text += outgoing.nsp;
    result.text += ',';
  }
  if (outgoing.id) {
    result.text += std::to_string(*outgoing.id);
  }
  if (outgoing.serialized_data) {
    result.text += *outgoing.serialized_data;
  } else if (!outgoing.data.is_null()) {
    result.text += boost::json::serialize(outgoing.data);
  }
  return result;
}

std::expected<std::optional<packet>, decode_error> decoder::fail(decode_error error) {
  failure_ = error;
  pending_.reset();
  return std::unexpected(error);
}

std::expected<std::optional<packet>, decode_error> decoder::on_text(std::string_view message) {
  if (failure_) {
    return std::unexpected(*failure_);
  }
  if (pending_) {
    return fail(decode_error::unexpected_text);
  }
  auto decoded = decode_message(message);
  if (!decoded) {
    return fail(decoded.error());
  }
  if (decoded->attachment_count == 0) {
    return std::optional<packet>(std::move(decoded->content));
  }
  expected_attachments_ = decoded->attachment_count;
  pending_ = std::make_unique<packet>(std::move(decoded->content));
  pending_->attachments.reserve(expected_attachments_);
  return std::optional<packet>();
}

std::expected<std::optional<packet>, decode_error> decoder::on_binary(std::string_view bytes) {
  if (failure_) {
    return std::unexpected(*failure_);
  }
  if (!pending_) {
    return fail(decode_error::unexpected_binary);
  }
  pending_->attachments.emplace_back(bytes);
  if (pending_->attachments.size() < expected_attachments_) {
    return std::optional<packet>();
  }
  std::optional<packet> complete(std::move(*pending_));
  pending_.reset();
  return complete;
}

} // namespace parley::socketio
