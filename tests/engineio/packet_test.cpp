#include "engineio/packet.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::engineio {

// Readable failure messages.
void PrintTo(const packet& value, std::ostream* out) {
  *out << "{type '" << static_cast<char>(value.type) << "', "
       << (value.binary ? "binary " : "text ") << ::testing::PrintToString(value.data) << "}";
}

namespace {

using namespace std::string_view_literals;

packet text_packet(packet_type type, std::string data = {}) {
  return packet{type, std::move(data), false};
}

packet binary_packet(std::string bytes) {
  return packet{packet_type::message, std::move(bytes), true};
}

std::string all_bytes() {
  std::string bytes;
  for (int value = 0; value < 256; ++value) {
    bytes += static_cast<char>(value);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Single packets

struct wire_case {
  std::string_view wire;
  packet decoded;
};

const std::vector<wire_case>& text_wire_cases() {
  static const std::vector<wire_case> cases{
      {"0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
       "\"pingTimeout\":20000,\"maxPayload\":1000000}",
       text_packet(packet_type::open,
                   "{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
                   "\"pingTimeout\":20000,\"maxPayload\":1000000}")},
      {"1", text_packet(packet_type::close)},
      {"2", text_packet(packet_type::ping)},
      {"2probe", text_packet(packet_type::ping, "probe")},
      {"3", text_packet(packet_type::pong)},
      {"3probe", text_packet(packet_type::pong, "probe")},
      {"4hello", text_packet(packet_type::message, "hello")},
      {"4", text_packet(packet_type::message)},
      {"42[\"chat\",\"hi\"]", text_packet(packet_type::message, "2[\"chat\",\"hi\"]")},
      {"4caf\xC3\xA9 \xF0\x9F\x98\x80",
       text_packet(packet_type::message, "caf\xC3\xA9 \xF0\x9F\x98\x80")},
      {"5", text_packet(packet_type::upgrade)},
      {"6", text_packet(packet_type::noop)},
      {"bAQIDBA==", binary_packet("\x01\x02\x03\x04")},
      {"b", binary_packet("")},
      {"bAA==", binary_packet(std::string(1, '\0'))},
  };
  return cases;
}

TEST(engineio_packet, encodes_the_text_form_of_each_packet) {
  for (const auto& [wire, decoded] : text_wire_cases()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(wire)));
    EXPECT_EQ(encode_text(decoded), wire);
  }
}

TEST(engineio_packet, decodes_the_text_form_of_each_packet) {
  for (const auto& [wire, decoded] : text_wire_cases()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(wire)));
    const auto result = decode_text(wire);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    EXPECT_EQ(*result, decoded);
  }
}

TEST(engineio_packet, keeps_data_after_the_type_of_every_type) {
  // The reference ignores stray data on close/noop/upgrade; the codec keeps it for the caller.
  const auto result = decode_text("6junk");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, text_packet(packet_type::noop, "junk"));
}

TEST(engineio_packet, keeps_a_record_separator_inside_a_websocket_text_frame) {
  // One WebSocket frame is one packet: nothing splits it.
  const auto result = decode_text("4a\x1e"
                                  "b");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->data, "a\x1e"
                          "b");
}

TEST(engineio_packet, rejects_malformed_text_frames) {
  const struct {
    std::string_view frame;
    decode_error error;
  } cases[]{
      {"", decode_error::empty},
      {"7", decode_error::unknown_type},
      {"9hello", decode_error::unknown_type},
      {"x", decode_error::unknown_type},
      {"abc", decode_error::unknown_type},
      {"/", decode_error::unknown_type},
      {"B", decode_error::unknown_type},
      {" 4hello", decode_error::unknown_type},
      {"\x1e", decode_error::unknown_type},
      {"\xFF", decode_error::invalid_utf8},
      {"4\xC3", decode_error::invalid_utf8},         // truncated sequence
      {"4\xC0\xAF", decode_error::invalid_utf8},     // overlong
      {"4\xED\xA0\x80", decode_error::invalid_utf8}, // surrogate
      {"x\xFF", decode_error::invalid_utf8},         // UTF-8 is checked first
      {"b\xFF", decode_error::invalid_utf8},
      {"bA", decode_error::invalid_base64},
      {"b!!!!", decode_error::invalid_base64},
      {"bAQIDBA=", decode_error::invalid_base64},
      {"bAQID BA==", decode_error::invalid_base64},
      {"b-_-_", decode_error::invalid_base64},
  };
  for (const auto& [frame, error] : cases) {
    SCOPED_TRACE(::testing::PrintToString(std::string(frame)));
    const auto result = decode_text(frame);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error(), error);
  }
}

TEST(engineio_packet, reads_a_binary_frame_as_a_binary_message) {
  EXPECT_EQ(decode_binary_frame("\x01\x02\x03\x04"), binary_packet("\x01\x02\x03\x04"));
  EXPECT_EQ(decode_binary_frame(""), binary_packet(""));
  // Bytes that look like a text packet, or are not UTF-8, are still just bytes.
  EXPECT_EQ(decode_binary_frame("4hello"), binary_packet("4hello"));
  EXPECT_EQ(decode_binary_frame(all_bytes()), binary_packet(all_bytes()));
}

TEST(engineio_packet, describes_every_error) {
  for (const decode_error error :
       {decode_error::empty, decode_error::unknown_type, decode_error::invalid_utf8,
        decode_error::invalid_base64, decode_error::too_many_packets}) {
    EXPECT_FALSE(describe(error).empty());
  }
  EXPECT_EQ(describe(decode_error::unknown_type), "unknown packet type");
}

// ---------------------------------------------------------------------------------------------
// Base64

TEST(engineio_base64, encodes_the_rfc_4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("\x01\x02\x03\x04"), "AQIDBA==");
  EXPECT_EQ(base64_encode("\xFB\xFF\xBF"), "+/+/");
}

TEST(engineio_base64, decodes_the_rfc_4648_vectors) {
  const struct {
    std::string_view text;
    std::string_view bytes;
  } cases[]{{"", ""},
            {"Zg==", "f"},
            {"Zm8=", "fo"},
            {"Zm9v", "foo"},
            {"Zm9vYg==", "foob"},
            {"Zm9vYmE=", "fooba"},
            {"Zm9vYmFy", "foobar"},
            {"AQIDBA==", "\x01\x02\x03\x04"},
            {"+/+/", "\xFB\xFF\xBF"}};
  for (const auto& [text, bytes] : cases) {
    SCOPED_TRACE(std::string(text));
    const auto result = base64_decode(text);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, bytes);
  }
}

TEST(engineio_base64, accepts_omitted_padding) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode("AQIDBA"), "\x01\x02\x03\x04");
}

TEST(engineio_base64, ignores_unused_low_bits_of_the_last_group) {
  EXPECT_EQ(base64_decode("Zh=="), "f");
  EXPECT_EQ(base64_decode("Zm9="), "fo");
}

TEST(engineio_base64, rejects_malformed_text) {
  for (const std::string_view text :
       {"Z"sv, "Zg="sv, "Zg==="sv, "Z==="sv, "="sv, "=="sv, "===="sv, "Zm9v===="sv, "Zm9v="sv,
        "Zg==Zg=="sv, "Z=g="sv, "Zm9v\n"sv, " Zm9v"sv, "Zm 9v"sv, "Zm-_"sv, "Zm9v\0"sv,
        "Zm\xC3\xA9v"sv, "Zm9vYmFy!"sv}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(text)));
    const auto result = base64_decode(text);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error(), decode_error::invalid_base64);
  }
}

TEST(engineio_base64, round_trips_every_byte_at_every_length_remainder) {
  const std::string bytes = all_bytes();
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const std::string_view prefix = std::string_view(bytes).substr(bytes.size() - length);
    const std::string text = base64_encode(prefix);
    EXPECT_EQ(text.size() % 4, 0U);
    const auto decoded = base64_decode(text);
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, prefix);
  }
}

// ---------------------------------------------------------------------------------------------
// Polling payloads

TEST(engineio_payload, joins_records_with_the_record_separator) {
  const std::vector<packet> packets{text_packet(packet_type::message, "hello"),
                                    binary_packet("\x01\x02\x03\x04")};
  EXPECT_EQ(encode_payload(packets), "4hello\x1e"
                                     "bAQIDBA==");
}

TEST(engineio_payload, encodes_the_documented_payloads) {
  EXPECT_EQ(encode_payload(std::vector<packet>{}), "");
  EXPECT_EQ(encode_payload(std::vector{text_packet(packet_type::ping)}), "2");
  EXPECT_EQ(encode_payload(std::vector{text_packet(packet_type::message, "0{\"sid\":\"s\"}"),
                                       text_packet(packet_type::message, "2[\"auth\",{}]")}),
            "40{\"sid\":\"s\"}\x1e"
            "42[\"auth\",{}]");
  EXPECT_EQ(encode_payload(std::vector{
                text_packet(packet_type::message, "51-[\"x\",{\"_placeholder\":true,\"num\":0}]"),
                binary_packet("\x01\x02\x03")}),
            "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1e"
            "bAQID");
  EXPECT_EQ(
      encode_payload(std::vector{text_packet(packet_type::ping), text_packet(packet_type::ping),
                                 text_packet(packet_type::noop)}),
      "2\x1e"
      "2\x1e"
      "6");
}

// The outcome of decoding one body: the packets appended, then the error if any.
struct payload_outcome {
  std::vector<packet> packets;
  std::optional<decode_error> error;

  friend bool operator==(const payload_outcome&, const payload_outcome&) = default;
};

void PrintTo(const payload_outcome& outcome, std::ostream* out) {
  *out << ::testing::PrintToString(outcome.packets) << " then "
       << (outcome.error ? describe(*outcome.error) : "success");
}

// Feeds `body` cut at `cuts` (ascending offsets), then finishes.
payload_outcome decode_chunked(std::string_view body, const std::vector<std::size_t>& cuts,
                               std::size_t max_packets = 10'000) {
  payload_decoder decoder(max_packets);
  payload_outcome outcome;
  std::size_t start = 0;
  for (const std::size_t cut : cuts) {
    if (auto fed = decoder.feed(body.substr(start, cut - start), outcome.packets); !fed) {
      outcome.error = fed.error();
      return outcome;
    }
    start = cut;
  }
  if (auto fed = decoder.feed(body.substr(start), outcome.packets); !fed) {
    outcome.error = fed.error();
    return outcome;
  }
  if (auto finished = decoder.finish(outcome.packets); !finished) {
    outcome.error = finished.error();
  }
  return outcome;
}

// Every way of cutting `body` into two and three chunks (also empty ones), and byte by byte,
// must give the outcome of the whole body.
void expect_same_outcome_for_every_chunking(std::string_view body,
                                            std::size_t max_packets = 10'000) {
  SCOPED_TRACE(::testing::PrintToString(std::string(body)));
  const payload_outcome whole = decode_chunked(body, {}, max_packets);
  for (std::size_t first = 0; first <= body.size(); ++first) {
    ASSERT_EQ(decode_chunked(body, {first}, max_packets), whole) << "cut at " << first;
    if (body.size() <= 64) {
      for (std::size_t second = first; second <= body.size(); ++second) {
        ASSERT_EQ(decode_chunked(body, {first, second}, max_packets), whole)
            << "cuts at " << first << ", " << second;
      }
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t cut = 1; cut < body.size(); ++cut) {
    every_byte.push_back(cut);
  }
  ASSERT_EQ(decode_chunked(body, every_byte, max_packets), whole) << "byte by byte";
}

struct payload_case {
  std::string_view body;
  std::vector<packet> packets;
};

const std::vector<payload_case>& valid_payloads() {
  static const std::vector<payload_case> cases{
      {"4hello\x1e"
       "bAQIDBA==",
       {text_packet(packet_type::message, "hello"), binary_packet("\x01\x02\x03\x04")}},
      {"4a\x1e"
       "4b",
       {text_packet(packet_type::message, "a"), text_packet(packet_type::message, "b")}},
      {"2", {text_packet(packet_type::ping)}},
      {"1", {text_packet(packet_type::close)}},
      {"3probe", {text_packet(packet_type::pong, "probe")}},
      {"40{\"token\":\"123\"}", {text_packet(packet_type::message, "0{\"token\":\"123\"}")}},
      {"40{\"sid\":\"s\"}\x1e"
       "42[\"auth\",{}]",
       {text_packet(packet_type::message, "0{\"sid\":\"s\"}"),
        text_packet(packet_type::message, "2[\"auth\",{}]")}},
      {"451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1e"
       "bAQID",
       {text_packet(packet_type::message, "51-[\"x\",{\"_placeholder\":true,\"num\":0}]"),
        binary_packet("\x01\x02\x03")}},
      {"b\x1e"
       "4",
       {binary_packet(""), text_packet(packet_type::message)}},
      {"4caf\xC3\xA9\x1e"
       "4\xF0\x9F\x98\x80\x1e"
       "4\xE2\x82\xAC",
       {text_packet(packet_type::message, "caf\xC3\xA9"),
        text_packet(packet_type::message, "\xF0\x9F\x98\x80"),
        text_packet(packet_type::message, "\xE2\x82\xAC")}},
      {"bZm9vYmFy\x1e"
       "bZm9vYg\x1e"
       "bZg==",
       {binary_packet("foobar"), binary_packet("foob"), binary_packet("f")}},
      {"4hello\x1e"
       "1",
       {text_packet(packet_type::message, "hello"), text_packet(packet_type::close)}},
  };
  return cases;
}

TEST(engineio_payload, decodes_valid_payloads) {
  for (const auto& [body, packets] : valid_payloads()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(body)));
    const auto result = decode_payload(body);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    EXPECT_EQ(*result, packets);
  }
}

TEST(engineio_payload, decodes_valid_payloads_in_every_chunking) {
  for (const auto& each : valid_payloads()) {
    expect_same_outcome_for_every_chunking(each.body);
  }
}

struct malformed_payload_case {
  std::string_view body;
  decode_error error;
  std::size_t packets_before_error;
};

const std::vector<malformed_payload_case>& malformed_payloads() {
  static const std::vector<malformed_payload_case> cases{
      {"", decode_error::empty, 0},
      {"\x1e", decode_error::empty, 0},
      {"\x1e\x1e", decode_error::empty, 0},
      {"\x1e"
       "4a",
       decode_error::empty, 0},
      {"4a\x1e", decode_error::empty, 1}, // trailing separator
      {"4a\x1e\x1e"
       "4b",
       decode_error::empty, 1}, // empty record in the middle
      {"abc", decode_error::unknown_type, 0},
      {"4a\x1e"
       "abc\x1e"
       "4b",
       decode_error::unknown_type, 1}, // stops at the first bad one
      {"7", decode_error::unknown_type, 0},
      {"4\xFF", decode_error::invalid_utf8, 0},
      {"4a\x1e"
       "4\xC3",
       decode_error::invalid_utf8, 1},
      {"bA", decode_error::invalid_base64, 0},
      {"4a\x1e"
       "b!!!!\x1e"
       "4b",
       decode_error::invalid_base64, 1},
  };
  return cases;
}

TEST(engineio_payload, rejects_malformed_payloads) {
  for (const auto& [body, error, packets_before_error] : malformed_payloads()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(body)));
    const auto result = decode_payload(body);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error(), error);
    const payload_outcome outcome = decode_chunked(body, {});
    EXPECT_EQ(outcome.error, error);
    EXPECT_EQ(outcome.packets.size(), packets_before_error);
  }
}

TEST(engineio_payload, rejects_malformed_payloads_in_every_chunking) {
  for (const auto& each : malformed_payloads()) {
    expect_same_outcome_for_every_chunking(each.body);
  }
}

TEST(engineio_payload, splits_a_record_separator_that_text_data_should_have_escaped) {
  // A raw \x1e can't be told from a separator: "4a\x1e4b" is two packets.
  const auto result = decode_payload("4a\x1e"
                                     "4b");
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->size(), 2U);
  EXPECT_EQ((*result)[0].data, "a");
  EXPECT_EQ((*result)[1].data, "b");
}

TEST(engineio_payload, accepts_exactly_max_packets) {
  EXPECT_TRUE(decode_payload("2\x1e"
                             "2\x1e"
                             "2",
                             3)
                  .has_value());
  expect_same_outcome_for_every_chunking("2\x1e"
                                         "2\x1e"
                                         "2",
                                         3);
}

TEST(engineio_payload, refuses_more_than_max_packets) {
  const auto result = decode_payload("2\x1e"
                                     "2\x1e"
                                     "2\x1e"
                                     "2",
                                     3);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), decode_error::too_many_packets);
  const payload_outcome outcome = decode_chunked("2\x1e"
                                                 "2\x1e"
                                                 "2\x1e"
                                                 "2",
                                                 {}, 3);
  EXPECT_EQ(outcome.packets.size(), 3U);
  EXPECT_EQ(outcome.error, decode_error::too_many_packets);
  expect_same_outcome_for_every_chunking("2\x1e"
                                         "2\x1e"
                                         "2\x1e"
                                         "2",
                                         3);
  // Refused as soon as the separator promises one record too many.
  payload_decoder decoder(1);
  std::vector<packet> out;
  const auto fed = decoder.feed("4a\x1e", out);
  ASSERT_FALSE(fed.has_value());
  EXPECT_EQ(fed.error(), decode_error::too_many_packets);
  EXPECT_EQ(out.size(), 1U);
}

TEST(engineio_payload, refuses_every_packet_when_max_packets_is_zero) {
  const auto result = decode_payload("2", 0);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), decode_error::too_many_packets);
}

TEST(engineio_payload, refuses_a_large_payload_of_tiny_records) {
  std::string body = "2";
  for (int index = 0; index < 10'000; ++index) {
    body += "\x1e"
            "2";
  }
  const auto result = decode_payload(body);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), decode_error::too_many_packets);
}

TEST(engineio_payload, keeps_returning_the_first_error) {
  payload_decoder decoder;
  std::vector<packet> out;
  ASSERT_FALSE(decoder.feed("x\x1e", out).has_value());
  const auto again = decoder.feed("4hello", out);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), decode_error::unknown_type);
  const auto finished = decoder.finish(out);
  ASSERT_FALSE(finished.has_value());
  EXPECT_EQ(finished.error(), decode_error::unknown_type);
  EXPECT_TRUE(out.empty());
}

TEST(engineio_payload, is_ready_for_a_new_body_after_finish) {
  payload_decoder decoder(2);
  std::vector<packet> out;
  ASSERT_TRUE(decoder
                  .feed("4a\x1e"
                        "4b",
                        out)
                  .has_value());
  ASSERT_TRUE(decoder.finish(out).has_value());
  ASSERT_TRUE(decoder
                  .feed("4c\x1e"
                        "4d",
                        out)
                  .has_value()); // the packet count starts again
  ASSERT_TRUE(decoder.finish(out).has_value());
  EXPECT_EQ(out, (std::vector{text_packet(packet_type::message, "a"),
                              text_packet(packet_type::message, "b"),
                              text_packet(packet_type::message, "c"),
                              text_packet(packet_type::message, "d")}));
}

TEST(engineio_payload, round_trips_text_and_binary_packets) {
  const std::vector<packet> packets{
      text_packet(packet_type::open, "{\"sid\":\"abc\"}"),
      text_packet(packet_type::message, "2[\"chat\",\"caf\xC3\xA9\"]"),
      binary_packet(all_bytes()),
      binary_packet(""),
      text_packet(packet_type::message),
      binary_packet("\x1e"),
      text_packet(packet_type::ping),
      text_packet(packet_type::noop),
      text_packet(packet_type::close),
  };
  const std::string body = encode_payload(packets);
  const auto result = decode_payload(body);
  ASSERT_TRUE(result.has_value()) << describe(result.error());
  EXPECT_EQ(*result, packets);
  expect_same_outcome_for_every_chunking(body);
}

TEST(engineio_payload, round_trips_each_single_packet) {
  for (const auto& each : text_wire_cases()) {
    const std::string body = encode_payload(std::vector{each.decoded});
    EXPECT_EQ(body, each.wire);
    const auto result = decode_payload(body);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, std::vector{each.decoded});
  }
}

} // namespace
} // namespace parley::engineio
