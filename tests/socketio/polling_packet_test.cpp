// Socket.IO packets through Engine.IO: a polling body of packets, cut at every point, decodes
// to the same packets and stops at the same error.

#include "socketio/packet.hpp"

#include "engineio/packet.hpp"
#include "packet_cases.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::socketio {
namespace {

using namespace std::string_view_literals;
using namespace cases;

// Engine.IO messages -> Socket.IO packets; an error ends the stream.
struct stream_outcome {
  std::vector<packet> packets;
  std::optional<decode_error> socketio_error;
  std::optional<engineio::decode_error> engineio_error;

  friend bool operator==(const stream_outcome&, const stream_outcome&) = default;
};

void PrintTo(const stream_outcome& outcome, std::ostream* out) {
  *out << ::testing::PrintToString(outcome.packets) << " then "
       << (outcome.socketio_error   ? describe(*outcome.socketio_error)
           : outcome.engineio_error ? engineio::describe(*outcome.engineio_error)
                                    : "success");
}

bool deliver(decoder& decoder, const std::vector<engineio::packet>& messages,
             stream_outcome& outcome) {
  for (const engineio::packet& message : messages) {
    EXPECT_EQ(message.type, engineio::packet_type::message);
    auto result = message.binary ? decoder.on_binary(message.data) : decoder.on_text(message.data);
    if (!result) {
      outcome.socketio_error = result.error();
      return false;
    }
    if (result->has_value()) {
      outcome.packets.push_back(std::move(**result));
    }
  }
  return true;
}

stream_outcome decode_body_chunked(std::string_view body, const std::vector<std::size_t>& cuts) {
  engineio::payload_decoder payload;
  decoder decoder;
  stream_outcome outcome;
  std::vector<engineio::packet> messages;
  std::size_t start = 0;
  auto feed = [&](std::string_view chunk) {
    messages.clear();
    const auto fed = payload.feed(chunk, messages);
    if (!deliver(decoder, messages, outcome)) {
      return false;
    }
    if (!fed) {
      outcome.engineio_error = fed.error();
      return false;
    }
    return true;
  };
  for (const std::size_t cut : cuts) {
    if (!feed(body.substr(start, cut - start))) {
      return outcome;
    }
    start = cut;
  }
  if (!feed(body.substr(start))) {
    return outcome;
  }
  messages.clear();
  const auto finished = payload.finish(messages);
  if (deliver(decoder, messages, outcome) && !finished) {
    outcome.engineio_error = finished.error();
  }
  return outcome;
}

void expect_same_stream_for_every_chunking(std::string_view body) {
  SCOPED_TRACE(::testing::PrintToString(std::string(body)));
  const stream_outcome whole = decode_body_chunked(body, {});
  for (std::size_t first = 0; first <= body.size(); ++first) {
    ASSERT_EQ(decode_body_chunked(body, {first}), whole) << "cut at " << first;
    if (body.size() <= 48) {
      for (std::size_t second = first; second <= body.size(); ++second) {
        ASSERT_EQ(decode_body_chunked(body, {first, second}), whole)
            << "cuts at " << first << ", " << second;
      }
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t cut = 1; cut < body.size(); ++cut) {
    every_byte.push_back(cut);
  }
  ASSERT_EQ(decode_body_chunked(body, every_byte), whole) << "byte by byte";
}

// The Engine.IO messages of `packets`, as a polling body.
std::string polling_body(const std::vector<packet>& packets) {
  std::vector<engineio::packet> messages;
  for (const packet& each : packets) {
    encoded wire = encode(each);
    messages.push_back({engineio::packet_type::message, std::move(wire.text), false});
    for (std::string& attachment : wire.attachments) {
      messages.push_back({engineio::packet_type::message, std::move(attachment), true});
    }
  }
  return engineio::encode_payload(messages);
}

TEST(socketio_over_polling, decodes_every_documented_packet_in_one_body) {
  std::vector<packet> packets;
  for (const auto& each : canonical_cases()) {
    packets.push_back(each.decoded);
  }
  const std::string body = polling_body(packets);
  const stream_outcome outcome = decode_body_chunked(body, {});
  EXPECT_FALSE(outcome.socketio_error.has_value());
  EXPECT_FALSE(outcome.engineio_error.has_value());
  EXPECT_EQ(outcome.packets, packets);
  expect_same_stream_for_every_chunking(body);
}

TEST(socketio_over_polling, decodes_the_documented_bodies_in_every_chunking) {
  for (const std::string_view body :
       {"40{\"token\":\"123\"}"sv,
        "40\x1e"
        "42[\"chat\",\"hi\"]\x1e"
        "4217[\"get\",1]\x1e"
        "41"sv,
        "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1e"
        "bAQID\x1e"
        "42[\"after\"]"sv,
        "461-15[{\"_placeholder\":true,\"num\":0}]\x1e"
        "bAQIDBA=="sv,
        "452-[\"message-back\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
        "\x1e"
        "bAQID\x1e"
        "bAAE="sv}) {
    const stream_outcome whole = decode_body_chunked(body, {});
    EXPECT_FALSE(whole.socketio_error.has_value()) << body;
    EXPECT_FALSE(whole.engineio_error.has_value()) << body;
    expect_same_stream_for_every_chunking(body);
  }
}

TEST(socketio_over_polling, stops_at_the_same_error_in_every_chunking) {
  const struct {
    std::string_view body;
    std::size_t packets_before_error;
    std::optional<decode_error> socketio_error;
    std::optional<engineio::decode_error> engineio_error;
  } cases[]{
      {"40\x1e"
       "42{}\x1e"
       "42[\"never\"]",
       1,
       decode_error::bad_payload_shape,
       {}},
      {"40\x1e"
       "42abc[\"a\"]",
       1,
       decode_error::bad_json,
       {}},
      {"40\x1e"
       "4abc",
       1,
       decode_error::bad_type,
       {}},
      {"40\x1e"
       "bAQID",
       1,
       decode_error::unexpected_binary,
       {}},
      {"451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1e"
       "42[\"a\"]",
       0,
       decode_error::unexpected_text,
       {}},
      {"40\x1e\x1e"
       "41",
       1,
       {},
       engineio::decode_error::empty},
      {"40\x1e"
       "bA",
       1,
       {},
       engineio::decode_error::invalid_base64},
      {"40\x1e"
       "x",
       1,
       {},
       engineio::decode_error::unknown_type},
  };
  for (const auto& [body, packets_before_error, socketio_error, engineio_error] : cases) {
    SCOPED_TRACE(::testing::PrintToString(std::string(body)));
    const stream_outcome whole = decode_body_chunked(body, {});
    EXPECT_EQ(whole.packets.size(), packets_before_error);
    EXPECT_EQ(whole.socketio_error, socketio_error);
    EXPECT_EQ(whole.engineio_error, engineio_error);
    expect_same_stream_for_every_chunking(body);
  }
}

TEST(socketio_over_polling, round_trips_binary_events_through_base64_records) {
  std::string every_byte;
  for (int value = 0; value < 256; ++value) {
    every_byte += static_cast<char>(value);
  }
  std::vector<packet> packets{
      make_packet(packet_type::connect, "/", {}, R"({"token":"abc"})"),
      make_packet(
          packet_type::binary_event, "/chat", 4,
          R"(["upload",{"name":"a\u001eb","body":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}])",
          {every_byte, std::string()}),
      make_packet(packet_type::binary_ack, "/chat", 2, R"([{"_placeholder":true,"num":0}])",
                  {"\x1e\x1e"}),
      make_packet(packet_type::disconnect, "/chat", {}, ""),
  };
  const std::string body = polling_body(packets);
  EXPECT_EQ(std::ranges::count(body, '\x1e'), 6);
  const stream_outcome outcome = decode_body_chunked(body, {});
  EXPECT_FALSE(outcome.socketio_error.has_value());
  EXPECT_FALSE(outcome.engineio_error.has_value());
  EXPECT_EQ(outcome.packets, packets);
  expect_same_stream_for_every_chunking(body);
}

} // namespace
} // namespace parley::socketio
