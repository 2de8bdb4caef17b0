#include "engineio/packet.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>

namespace parley::engineio {
namespace {

constexpr char k_record_separator = '\x1e';
constexpr char k_binary_marker = 'b';
constexpr std::string_view k_base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t k_not_base64 = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(k_not_base64);
  for (std::size_t index = 0; index < k_base64_alphabet.size(); ++index) {
    values[static_cast<unsigned char>(k_base64_alphabet[index])] = static_cast<std::uint8_t>(index);
  }
  return values;
}

constexpr auto k_base64_values = make_base64_values();

bool is_packet_type(char character) {
  return character >= '0' && character <= '6';
}

} // namespace

std::string_view describe(decode_error error) {
  switch (error) {
  case decode_error::empty:
    return "empty packet";
  case decode_error::unknown_type:
    return "unknown packet type";
  case decode_error::invalid_utf8:
    return "text packet is not valid UTF-8";
  case decode_error::invalid_base64:
    return "binary packet is not valid base64";
  case decode_error::too_many_packets:
    return "too many packets in one payload";
  }
  return "invalid packet";
}

std::string encode_text(const packet& outgoing) {
  assert(!outgoing.binary || outgoing.type == packet_type::message);
  if (outgoing.binary) {
    return k_binary_marker + base64_encode(outgoing.data);
  }
  std::string text;
  text.reserve(1 + outgoing.data.size());
  text += static_cast<char>(outgoing.type);
  text += outgoing.data;
  return text;
}

std::expected<packet, decode_error> decode_text(std::string_view frame) {
  if (frame.empty()) {
    return std::unexpected(decode_error::empty);
  }
  if (!text::is_valid_utf8(frame)) {
    return std::unexpected(decode_error::invalid_utf8);
  }
  if (frame.front() == k_binary_marker) {
    auto bytes = base64_decode(frame.substr(1));
    if (!bytes) {
      return std::unexpected(bytes.error());
    }
    return packet{packet_type::message, std::move(*bytes), true};
  }
  if (!is_packet_type(frame.front())) {
    return std::unexpected(decode_error::unknown_type);
  }
  return packet{static_cast<packet_type>(frame.front()), std::string(frame.substr(1)), false};
}

packet decode_binary_frame(std::string_view bytes) {
  return packet{packet_type::message, std::string(bytes), true};
}

std::string encode_payload(std::span<const packet> packets) {
  std::string payload;
  for (std::size_t index = 0; index < packets.size(); ++index) {
    if (index > 0) {
      payload += k_record_separator;
    }
    payload += encode_text(packets[index]);
  }
  return payload;
}

payload_decoder::payload_decoder(std::size_t max_packets) : max_packets_(max_packets) {}

std::expected<void, decode_error> payload_decoder::fail(decode_error error) {
  state_ = std::unexpected(error);
  record_.clear();
  return state_;
}

std::expected<void, decode_error> payload_decoder::complete_record(std::vector<packet>& out) {
  if (packet_count_ >= max_packets_) {
    return fail(decode_error::too_many_packets);
  }
  auto decoded = decode_text(record_);
  if (!decoded) {
    return fail(decoded.error());
  }
  out.push_back(std::move(*decoded));
  ++packet_count_;
  record_.clear();
  return {};
}

std::expected<void, decode_error> payload_decoder::feed(std::string_view chunk,
                                                        std::vector<packet>& out) {
  if (!state_) {
    return state_;
  }
  while (!chunk.empty()) {
    const std::size_t separator = chunk.find(k_record_separator);
    if (separator == std::string_view::npos) {
      record_ += chunk;
      break;
    }
    record_ += chunk.substr(0, separator);
    chunk.remove_prefix(separator + 1);
    if (auto completed = complete_record(out); !completed) {
      return completed;
    }
    // A separator promises another record: refuse it now rather than buffer it.
    if (packet_count_ >= max_packets_) {
      return fail(decode_error::too_many_packets);
    }
  }
  return {};
}

std::expected<void, decode_error> payload_decoder::finish(std::vector<packet>& out) {
  if (!state_) {
    return state_;
  }
  if (auto completed = complete_record(out); !completed) {
    return completed;
  }
  packet_count_ = 0;
  return {};
}

std::expected<std::vector<packet>, decode_error> decode_payload(std::string_view body,
                                                                std::size_t max_packets) {
  payload_decoder decoder(max_packets);
  std::vector<packet> packets;
  if (auto fed = decoder.feed(body, packets); !fed) {
    return std::unexpected(fed.error());
  }
  if (auto finished = decoder.finish(packets); !finished) {
    return std::unexpected(finished.error());
  }
  return packets;
}

std::string base64_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t index = 0; index < bytes.size(); index += 3) {
    const std::size_t taken = std::min<std::size_t>(3, bytes.size() - index);
    std::uint32_t group = 0;
    for (std::size_t offset = 0; offset < 3; ++offset) {
      const unsigned char byte =
          offset < taken ? static_cast<unsigned char>(bytes[index + offset]) : 0;
      group = group << 8 | byte;
    }
    // `taken` bytes fill `taken + 1` sextets; '=' pads the group to four characters.
    for (std::size_t sextet = 0; sextet < 4; ++sextet) {
      text += sextet <= taken ? k_base64_alphabet[(group >> (18 - 6 * sextet)) & 0x3F] : '=';
    }
  }
  return text;
}

std::expected<std::string, decode_error> base64_decode(std::string_view text) {
  if (text.size() % 4 == 0 && !text.empty()) {
    // Padded form: at most two '=' and only at the very end.
    std::size_t padding = 0;
    while (padding < 2 && text[text.size() - 1 - padding] == '=') {
      ++padding;
    }
    text.remove_suffix(padding);
  }
  if (text.size() % 4 == 1) {
    return std::unexpected(decode_error::invalid_base64);
  }
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t group = 0;
  std::size_t digits = 0;
  for (const char character : text) {
    const std::uint8_t value = k_base64_values[static_cast<unsigned char>(character)];
    if (value == k_not_base64) {
      return std::unexpected(decode_error::invalid_base64);
    }
    group = group << 6 | value;
    if (++digits == 4) {
      bytes += static_cast<char>((group >> 16) & 0xFF);
      bytes += static_cast<char>((group >> 8) & 0xFF);
      bytes += static_cast<char>(group & 0xFF);
      group = 0;
      digits = 0;
    }
  }
  if (digits == 2) {
    bytes += static_cast<char>((group >> 4) & 0xFF);
  } else if (digits == 3) {
    bytes += static_cast<char>((group >> 10) & 0xFF);
    bytes += static_cast<char>((group >> 2) & 0xFF);
  }
  return bytes;
}

} // namespace parley::engineio
