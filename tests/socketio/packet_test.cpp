#include "socketio/packet.hpp"

#include "engineio/packet.hpp"
#include "socketio/server.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::socketio {

// Readable failure messages.
void PrintTo(const packet& value, std::ostream* out) {
  *out << "{type " << static_cast<int>(value.type) << ", nsp " << value.nsp << ", id "
       << (value.id ? std::to_string(*value.id) : "none") << ", data "
       << boost::json::serialize(value.data) << ", attachments "
       << ::testing::PrintToString(value.attachments) << "}";
}

namespace {

using namespace std::string_view_literals;

boost::json::value json(std::string_view text) {
  return boost::json::parse(text);
}

packet make_packet(packet_type type, std::string nsp, std::optional<std::uint64_t> id,
                   std::string_view data_json, std::vector<std::string> attachments = {}) {
  packet result;
  result.type = type;
  result.nsp = std::move(nsp);
  result.id = id;
  result.data = data_json.empty() ? boost::json::value() : json(data_json);
  result.attachments = std::move(attachments);
  return result;
}

constexpr std::string_view k_placeholder_0 = R"({"_placeholder":true,"num":0})";

// Wire forms from shared/SOCKETIO.md (A10, B5, B6), without the Engine.IO '4'. Each is both
// what encode() writes and what the decoder reads.
struct wire_case {
  std::string_view text;
  std::vector<std::string> attachments;
  packet decoded;
};

const std::vector<wire_case>& canonical_cases() {
  static const std::vector<wire_case> cases{
      {"0", {}, make_packet(packet_type::connect, "/", {}, "")},
      {R"(0{"token":"123"})", {}, make_packet(packet_type::connect, "/", {}, R"({"token":"123"})")},
      {R"(0{"sid":"abc"})", {}, make_packet(packet_type::connect, "/", {}, R"({"sid":"abc"})")},
      {R"(0/admin,{"sid":"xyz"})",
       {},
       make_packet(packet_type::connect, "/admin", {}, R"({"sid":"xyz"})")},
      {"0/admin,", {}, make_packet(packet_type::connect, "/admin", {}, "")},
      {R"(4/random,{"message":"Invalid namespace"})",
       {},
       make_packet(packet_type::connect_error, "/random", {},
                   R"({"message":"Invalid namespace"})")},
      {R"(4{"message":"Not authorized","data":{"reason":"token"}})",
       {},
       make_packet(packet_type::connect_error, "/", {},
                   R"({"message":"Not authorized","data":{"reason":"token"}})")},
      {R"(4"refused")", {}, make_packet(packet_type::connect_error, "/", {}, R"("refused")")},
      {R"(2["chat","hi"])", {}, make_packet(packet_type::event, "/", {}, R"(["chat","hi"])")},
      {R"(2/admin,["chat","hi"])",
       {},
       make_packet(packet_type::event, "/admin", {}, R"(["chat","hi"])")},
      {R"(217["get",1])", {}, make_packet(packet_type::event, "/", 17, R"(["get",1])")},
      {R"(2/admin,5["get"])", {}, make_packet(packet_type::event, "/admin", 5, R"(["get"])")},
      {R"(2[42,"numeric name"])",
       {},
       make_packet(packet_type::event, "/", {}, R"([42,"numeric name"])")},
      {R"(2["auth",{}])", {}, make_packet(packet_type::event, "/", {}, R"(["auth",{}])")},
      {R"(2["Connect"])", {}, make_packet(packet_type::event, "/", {}, R"(["Connect"])")},
      {R"(317[{"ok":true}])", {}, make_packet(packet_type::ack, "/", 17, R"([{"ok":true}])")},
      {R"(3/admin,13["bar"])", {}, make_packet(packet_type::ack, "/admin", 13, R"(["bar"])")},
      {R"(3456[1,"2",{"3":[false]}])",
       {},
       make_packet(packet_type::ack, "/", 456, R"([1,"2",{"3":[false]}])")},
      {"30[\"ok\"]", {}, make_packet(packet_type::ack, "/", 0, R"(["ok"])")},
      {"31[]", {}, make_packet(packet_type::ack, "/", 1, "[]")},
      {"1", {}, make_packet(packet_type::disconnect, "/", {}, "")},
      {"1/admin,", {}, make_packet(packet_type::disconnect, "/admin", {}, "")},
      {R"(51-["file",{"_placeholder":true,"num":0}])",
       {"\x01\x02\x03"},
       make_packet(packet_type::binary_event, "/", {}, R"(["file",{"_placeholder":true,"num":0}])",
                   {"\x01\x02\x03"})},
      {R"(51-0["hi",{"_placeholder":true,"num":0}])",
       {"bytes"},
       make_packet(packet_type::binary_event, "/", 0, R"(["hi",{"_placeholder":true,"num":0}])",
                   {"bytes"})},
      {R"(52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
       {"\x01\x02\x03", std::string("\x00\xFF", 2)},
       make_packet(
           packet_type::binary_event, "/", {},
           R"(["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
           {"\x01\x02\x03", std::string("\x00\xFF", 2)})},
      {R"(51-/admin,["file",{"_placeholder":true,"num":0}])",
       {""},
       make_packet(packet_type::binary_event, "/admin", {},
                   R"(["file",{"_placeholder":true,"num":0}])", {""})},
      {R"(61-15[{"_placeholder":true,"num":0}])",
       {"\x01\x02"},
       make_packet(packet_type::binary_ack, "/", 15, R"([{"_placeholder":true,"num":0}])",
                   {"\x01\x02"})},
      {R"(62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
       {"a", "b"},
       make_packet(packet_type::binary_ack, "/", 789,
                   R"([{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", {"a", "b"})},
      // Placeholders nested in objects, numbered depth-first.
      {R"(53-["up",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2}])",
       {"zero", "one", "two"},
       make_packet(
           packet_type::binary_event, "/", {},
           R"(["up",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2}])",
           {"zero", "one", "two"})},
  };
  return cases;
}

// Feeds one packet's messages to `decoder`; the result of the last message.
std::expected<std::optional<packet>, decode_error>
feed_messages(decoder& decoder, std::string_view text,
              const std::vector<std::string>& attachments) {
  auto result = decoder.on_text(text);
  for (const std::string& attachment : attachments) {
    if (!result) {
      return result;
    }
    EXPECT_FALSE(result->has_value()) << "complete before its last attachment";
    result = decoder.on_binary(attachment);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Encoding

TEST(socketio_packet, encodes_the_documented_wire_forms) {
  for (const auto& [text, attachments, decoded] : canonical_cases()) {
    SCOPED_TRACE(std::string(text));
    const encoded result = encode(decoded);
    EXPECT_EQ(result.text, text);
    EXPECT_EQ(result.attachments, attachments);
  }
}

TEST(socketio_packet, writes_data_serialised_once_for_many_sockets_verbatim) {
  const auto shared = std::make_shared<const std::string>(R"(["message",{"id":7}])");
  packet event{packet_type::event, "/", 12, nullptr, {}};
  event.serialized_data = shared;
  EXPECT_EQ(encode(event).text, R"(212["message",{"id":7}])");
  packet in_namespace{packet_type::event, "/chat", std::nullopt, nullptr, {}};
  in_namespace.serialized_data = shared;
  EXPECT_EQ(encode(in_namespace).text, R"(2/chat,["message",{"id":7}])");
  EXPECT_EQ(*serialize_event("message", single_argument(
                                                      boost::json::object{{"id", 7}})),
            R"(["message",{"id":7}])");
}

TEST(socketio_packet, encodes_binary_types_exactly_when_there_are_attachments) {
  packet event = make_packet(packet_type::event, "/", {},
                             R"(["file",{"_placeholder":true,"num":0}])", {"\x01"});
  EXPECT_EQ(encode(event).text, R"(51-["file",{"_placeholder":true,"num":0}])");

  packet binary_event = make_packet(packet_type::binary_event, "/", {}, R"(["chat","hi"])");
  EXPECT_EQ(encode(binary_event).text, R"(2["chat","hi"])");
  EXPECT_TRUE(encode(binary_event).attachments.empty());

  packet ack = make_packet(packet_type::ack, "/", 3, R"([{"_placeholder":true,"num":0}])", {"x"});
  EXPECT_EQ(encode(ack).text, R"(61-3[{"_placeholder":true,"num":0}])");

  packet binary_ack = make_packet(packet_type::binary_ack, "/", 3, "[]");
  EXPECT_EQ(encode(binary_ack).text, "33[]");
}

TEST(socketio_packet, builds_placeholders) {
  EXPECT_EQ(boost::json::serialize(make_placeholder(0)), k_placeholder_0);
  EXPECT_EQ(boost::json::serialize(make_placeholder(7)), R"({"_placeholder":true,"num":7})");
  EXPECT_EQ(make_placeholder(1), json(R"({"_placeholder":true,"num":1})"));
}

TEST(socketio_packet, writes_an_empty_namespace_as_the_main_one) {
  EXPECT_EQ(encode(make_packet(packet_type::connect, "", {}, "")).text, "0");
}

TEST(socketio_packet, escapes_control_characters_so_json_never_holds_a_record_separator) {
  packet event = make_packet(packet_type::event, "/", {}, "");
  event.data = boost::json::array{"chat", "a\x1e"
                                          "b\n\t\x01\x7F"};
  const encoded result = encode(event);
  EXPECT_EQ(result.text, "2[\"chat\",\"a\\u001eb\\n\\t\\u0001\x7F\"]");
  EXPECT_EQ(result.text.find('\x1e'), std::string::npos);
}

TEST(socketio_packet, keeps_key_order_and_writes_compact_json) {
  packet connect = make_packet(packet_type::connect, "/", {}, "");
  connect.data = boost::json::object{{"z", 1}, {"a", boost::json::array{1, 2}}, {"m", nullptr}};
  EXPECT_EQ(encode(connect).text, R"(0{"z":1,"a":[1,2],"m":null})");
}

TEST(socketio_packet, writes_utf8_unchanged) {
  packet event = make_packet(packet_type::event, "/", {}, "");
  event.data = boost::json::array{"chat", "caf\xC3\xA9 \xF0\x9F\x98\x80"};
  EXPECT_EQ(encode(event).text, "2[\"chat\",\"caf\xC3\xA9 \xF0\x9F\x98\x80\"]");
}

// ---------------------------------------------------------------------------------------------
// Decoding

TEST(socketio_packet, decodes_the_documented_wire_forms) {
  for (const auto& [text, attachments, decoded] : canonical_cases()) {
    SCOPED_TRACE(std::string(text));
    decoder decoder;
    const auto result = feed_messages(decoder, text, attachments);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    ASSERT_TRUE(result->has_value());
    EXPECT_EQ(**result, decoded);
    EXPECT_FALSE(decoder.awaiting_attachments());
  }
}

TEST(socketio_packet, decodes_what_it_encodes) {
  for (const auto& each : canonical_cases()) {
    SCOPED_TRACE(std::string(each.text));
    const encoded wire = encode(each.decoded);
    decoder decoder;
    const auto result = feed_messages(decoder, wire.text, wire.attachments);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    ASSERT_TRUE(result->has_value());
    EXPECT_EQ(**result, each.decoded);
    EXPECT_EQ(encode(**result).text, each.text);
  }
}

TEST(socketio_packet, decodes_lenient_forms_like_the_reference) {
  const struct {
    std::string_view text;
    packet decoded;
  } cases[]{
      // A namespace runs to the next ',' or the end.
      {"0/custom", make_packet(packet_type::connect, "/custom", {}, "")},
      {"1/custom", make_packet(packet_type::disconnect, "/custom", {}, "")},
      {"0/random", make_packet(packet_type::connect, "/random", {}, "")},
      {"0/", make_packet(packet_type::connect, "/", {}, "")},
      {"2/,[\"a\"]", make_packet(packet_type::event, "/", {}, R"(["a"])")},
      {R"(0/a/b,{"x":1})", make_packet(packet_type::connect, "/a/b", {}, R"({"x":1})")},
      {"0/caf\xC3\xA9", make_packet(packet_type::connect, "/caf\xC3\xA9", {}, "")},
      // Leading zeros in an ack id.
      {R"(2007["a"])", make_packet(packet_type::event, "/", 7, R"(["a"])")},
      // The largest ack id.
      {R"(29007199254740991["a"])",
       make_packet(packet_type::event, "/", 9'007'199'254'740'991, R"(["a"])")},
      // An ack id on any type is kept.
      {R"(05{"a":1})", make_packet(packet_type::connect, "/", 5, R"({"a":1})")},
      {"1/admin,9", make_packet(packet_type::disconnect, "/admin", 9, "")},
      // White space around the JSON, as JSON.parse allows.
      {"2 [\"a\"] ", make_packet(packet_type::event, "/", {}, R"(["a"])")},
      {R"(2[1.5,"x"])", make_packet(packet_type::event, "/", {}, R"([1.5,"x"])")},
      {R"(2[-1])", make_packet(packet_type::event, "/", {}, R"([-1])")},
      // Zero attachments complete at once.
      {R"(50-["a"])", make_packet(packet_type::binary_event, "/", {}, R"(["a"])")},
      // A placeholder-shaped object in a text event is plain data.
      {R"(2["a",{"_placeholder":true,"num":0}])",
       make_packet(packet_type::event, "/", {}, R"(["a",{"_placeholder":true,"num":0}])")},
  };
  for (const auto& [text, decoded] : cases) {
    SCOPED_TRACE(std::string(text));
    decoder decoder;
    const auto result = decoder.on_text(text);
    ASSERT_TRUE(result.has_value()) << describe(result.error());
    ASSERT_TRUE(result->has_value());
    EXPECT_EQ(**result, decoded);
  }
}

TEST(socketio_packet, reads_an_attachment_count_with_leading_zeros) {
  decoder decoder;
  const auto result = feed_messages(decoder, R"(501-["a",{"_placeholder":true,"num":0}])", {"x"});
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->attachments, std::vector<std::string>{"x"});
}

TEST(socketio_packet, keeps_nested_placeholders_and_extra_placeholder_keys) {
  decoder decoder;
  const auto result = feed_messages(
      decoder,
      R"(52-["a",{"deep":[{"_placeholder":true,"num":1,"extra":1}]},)"
      R"({"_placeholder":false,"num":0},{"_placeholder":"yes"},{"_placeholder":true,"num":0}])",
      {"zero", "one"});
  ASSERT_TRUE(result.has_value()) << describe(result.error());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->attachments, (std::vector<std::string>{"zero", "one"}));
  EXPECT_EQ((*result)->data.as_array()[1].at("deep").as_array()[0].at("num"), 1);
}

struct malformed_case {
  std::string_view text;
  decode_error error;
};

const std::vector<malformed_case>& malformed_cases() {
  static const std::vector<malformed_case> cases{
      // Type.
      {"", decode_error::bad_type},
      {"7", decode_error::bad_type},
      {"9[\"a\"]", decode_error::bad_type},
      {"x", decode_error::bad_type},
      {"abc", decode_error::bad_type},
      {"-1", decode_error::bad_type},
      {" 2[\"a\"]", decode_error::bad_type},
      {"/2[\"a\"]", decode_error::bad_type},
      // Payload shapes.
      {"2{}", decode_error::bad_payload_shape}, // "42{}" on the wire
      {"2[]", decode_error::bad_payload_shape},
      {"2[{}]", decode_error::bad_payload_shape},
      {"2[null]", decode_error::bad_payload_shape},
      {"2[true]", decode_error::bad_payload_shape},
      {"2[[\"a\"]]", decode_error::bad_payload_shape},
      {"2\"chat\"", decode_error::bad_payload_shape},
      {"21", decode_error::bad_payload_shape}, // an id and no data
      {"2", decode_error::bad_payload_shape},
      {"2/admin,", decode_error::bad_payload_shape},
      {"2/admin[\"a\"]", decode_error::bad_payload_shape}, // the namespace swallows the data
      {"0[]", decode_error::bad_payload_shape},
      {"0\"token\"", decode_error::bad_payload_shape},
      {"0null", decode_error::bad_payload_shape},
      {"1{}", decode_error::bad_payload_shape},
      {"1/admin,{}", decode_error::bad_payload_shape},
      {"1[]", decode_error::bad_payload_shape},
      {"1null", decode_error::bad_payload_shape},
      {"3", decode_error::bad_payload_shape},
      {"317", decode_error::bad_payload_shape},
      {"3{}", decode_error::bad_payload_shape},
      {"3\"ok\"", decode_error::bad_payload_shape},
      {"4", decode_error::bad_payload_shape},
      {"4[]", decode_error::bad_payload_shape},
      {"41", decode_error::bad_payload_shape},
      {"4/random,", decode_error::bad_payload_shape},
      {"450", decode_error::bad_payload_shape},
      {"50-", decode_error::bad_payload_shape},
      {"50-[]", decode_error::bad_payload_shape},
      {"60-", decode_error::bad_payload_shape},
      {"60-{}", decode_error::bad_payload_shape},
      // Reserved event names, for text and binary events.
      {"2[\"connect\"]", decode_error::reserved_event_name},
      {"2[\"connect_error\",1]", decode_error::reserved_event_name},
      {"2[\"disconnect\"]", decode_error::reserved_event_name},
      {"2[\"disconnecting\"]", decode_error::reserved_event_name},
      {"2[\"newListener\",\"x\"]", decode_error::reserved_event_name},
      {"2[\"removeListener\"]", decode_error::reserved_event_name},
      {"2/admin,3[\"connect\"]", decode_error::reserved_event_name},
      {R"(51-["disconnect",{"_placeholder":true,"num":0}])", decode_error::reserved_event_name},
      // JSON.
      {"2abc[\"a\"]", decode_error::bad_json}, // "42abc[...]": no id, "abc[...]" is not JSON
      {"2[\"a\"", decode_error::bad_json},
      {"2[\"a\"]x", decode_error::bad_json},
      {"2[\"a\"][\"b\"]", decode_error::bad_json},
      {"2['a']", decode_error::bad_json},
      {"2[\"a\",]", decode_error::bad_json},
      {"2[\"a\"]//c", decode_error::bad_json},
      {"0{\"a\":1,}", decode_error::bad_json},
      {"0{a:1}", decode_error::bad_json},
      {"2[\"\\x\"]", decode_error::bad_json},
      {"2[\"\xFF\"]", decode_error::bad_json},
      {"2[\"a\x01\"]", decode_error::bad_json}, // raw control character in a string
      {"2[NaN]", decode_error::bad_json},
      {"2 ", decode_error::bad_json},
      {"2,[\"a\"]", decode_error::bad_json},
      // Attachment counts.
      {R"(5-["a",{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(5x-["a",{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(51x-["a",{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(5+1-["a",{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(5 1-["a",{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(5["a"])", decode_error::bad_attachment_count},
      {"5", decode_error::bad_attachment_count},
      {"51", decode_error::bad_attachment_count},
      {"6-", decode_error::bad_attachment_count},
      {R"(6/admin,1-[{"_placeholder":true,"num":0}])", decode_error::bad_attachment_count},
      {R"(511-["a"])", decode_error::too_many_attachments},
      {R"(611-[])", decode_error::too_many_attachments},
      {R"(5100-["a"])", decode_error::too_many_attachments},
      {"599999999999999999999999999999-[\"a\"]", decode_error::too_many_attachments},
      // Placeholders.
      {R"(51-["a"])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true,"num":1}])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true,"num":-1}])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true,"num":"0"}])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true,"num":0.0}])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true}])", decode_error::bad_placeholder},
      {R"(51-["a",{"_placeholder":true,"num":18446744073709551615}])",
       decode_error::bad_placeholder},
      {R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])",
       decode_error::bad_placeholder},
      {R"(52-["a",{"_placeholder":true,"num":1}])", decode_error::bad_placeholder},
      {R"(50-["a",{"_placeholder":true,"num":0}])", decode_error::bad_placeholder},
      {R"(61-1[])", decode_error::bad_placeholder},
      // Ack ids.
      {R"(29007199254740992["a"])", decode_error::bad_id},
      {R"(218446744073709551616["a"])", decode_error::bad_id},
      {R"(299999999999999999999999999999["a"])", decode_error::bad_id},
      {"3/admin,18446744073709551615[]", decode_error::bad_id},
      // Namespaces.
      {"0/a\nb,", decode_error::bad_namespace},
      {"0/a\x7F", decode_error::bad_namespace},
  };
  return cases;
}

TEST(socketio_packet, rejects_malformed_messages) {
  for (const auto& [text, error] : malformed_cases()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(text)));
    decoder decoder;
    const auto result = decoder.on_text(text);
    ASSERT_FALSE(result.has_value()) << "decoded " << ::testing::PrintToString(*result);
    EXPECT_EQ(result.error(), error) << describe(result.error());
  }
}

// An event whose JSON nests `depth` arrays: ["deep",[[…]]].
std::string nested_event(std::size_t depth) {
  return "2[\"deep\"," + std::string(depth - 1, '[') + std::string(depth, ']');
}

TEST(socketio_packet, accepts_json_nested_up_to_the_depth_limit) {
  decoder decoder;
  const auto result = decoder.on_text(nested_event(k_max_json_depth));
  ASSERT_TRUE(result.has_value()) << describe(result.error());
  ASSERT_TRUE(result->has_value());
}

TEST(socketio_packet, rejects_json_nested_deeper_than_the_limit) {
  decoder decoder;
  const auto result = decoder.on_text(nested_event(k_max_json_depth + 1));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), decode_error::bad_json);
}

TEST(socketio_packet, rejects_a_namespace_longer_than_the_limit) {
  const std::string longest = "/" + std::string(k_max_namespace_length - 1, 'n');
  decoder accepting;
  const auto accepted = accepting.on_text("0" + longest + ",");
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ((*accepted)->nsp, longest);

  decoder refusing;
  const auto refused = refusing.on_text("0" + longest + "n,");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), decode_error::bad_namespace);
}

TEST(socketio_packet, rejects_a_binary_message_when_none_is_expected) {
  decoder decoder;
  const auto result = decoder.on_binary("\x01\x02");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), decode_error::unexpected_binary);
}

TEST(socketio_packet, rejects_an_extra_binary_message_after_a_complete_packet) {
  decoder decoder;
  const auto complete = feed_messages(decoder, R"(51-["a",{"_placeholder":true,"num":0}])", {"x"});
  ASSERT_TRUE(complete.has_value());
  ASSERT_TRUE(complete->has_value());
  const auto extra = decoder.on_binary("y");
  ASSERT_FALSE(extra.has_value());
  EXPECT_EQ(extra.error(), decode_error::unexpected_binary);
}

TEST(socketio_packet, rejects_a_text_message_while_attachments_are_pending) {
  decoder decoder;
  const auto header =
      decoder.on_text(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  ASSERT_TRUE(header.has_value());
  EXPECT_FALSE(header->has_value());
  EXPECT_TRUE(decoder.awaiting_attachments());
  ASSERT_TRUE(decoder.on_binary("first").has_value());
  const auto text = decoder.on_text(R"(2["b"])");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error(), decode_error::unexpected_text);
}

TEST(socketio_packet, keeps_returning_the_first_error) {
  decoder decoder;
  ASSERT_FALSE(decoder.on_text("2{}").has_value());
  const auto text = decoder.on_text(R"(2["fine"])");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error(), decode_error::bad_payload_shape);
  const auto binary = decoder.on_binary("x");
  ASSERT_FALSE(binary.has_value());
  EXPECT_EQ(binary.error(), decode_error::bad_payload_shape);
  EXPECT_FALSE(decoder.awaiting_attachments());
}

TEST(socketio_packet, returns_nothing_until_the_last_attachment) {
  decoder decoder;
  auto result = decoder.on_text(
      R"(63-9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}])");
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
  result = decoder.on_binary("zero");
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
  result = decoder.on_binary("");
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->has_value());
  result = decoder.on_binary("two");
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->attachments, (std::vector<std::string>{"zero", "", "two"}));
  EXPECT_EQ((*result)->id, 9U);
  EXPECT_FALSE(decoder.awaiting_attachments());
}

TEST(socketio_packet, accepts_the_maximum_number_of_attachments) {
  boost::json::array arguments{"many"};
  std::vector<std::string> attachments;
  for (std::size_t num = 0; num < k_max_attachments; ++num) {
    arguments.push_back(make_placeholder(num));
    attachments.push_back(std::string(num, 'x'));
  }
  packet original;
  original.type = packet_type::binary_event;
  original.data = arguments;
  original.attachments = attachments;
  const encoded wire = encode(original);
  EXPECT_TRUE(wire.text.starts_with("510-"));
  decoder decoder;
  const auto result = feed_messages(decoder, wire.text, wire.attachments);
  ASSERT_TRUE(result.has_value()) << describe(result.error());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(**result, original);
}

TEST(socketio_packet, decodes_a_stream_of_packets_with_one_decoder) {
  decoder decoder;
  std::vector<packet> decoded;
  for (int round = 0; round < 3; ++round) {
    for (const auto& each : canonical_cases()) {
      const auto result = feed_messages(decoder, each.text, each.attachments);
      ASSERT_TRUE(result.has_value()) << each.text << ": " << describe(result.error());
      ASSERT_TRUE(result->has_value());
      decoded.push_back(**result);
    }
  }
  ASSERT_EQ(decoded.size(), 3 * canonical_cases().size());
  for (std::size_t index = 0; index < decoded.size(); ++index) {
    EXPECT_EQ(decoded[index], canonical_cases()[index % canonical_cases().size()].decoded);
  }
}

TEST(socketio_packet, describes_every_error) {
  for (const decode_error error :
       {decode_error::bad_type, decode_error::bad_attachment_count,
        decode_error::too_many_attachments, decode_error::bad_placeholder,
        decode_error::bad_namespace, decode_error::bad_id, decode_error::bad_json,
        decode_error::bad_payload_shape, decode_error::reserved_event_name,
        decode_error::unexpected_binary, decode_error::unexpected_text}) {
    EXPECT_FALSE(describe(error).empty());
  }
}

// ---------------------------------------------------------------------------------------------
// Through Engine.IO: a polling body of Socket.IO packets, cut at every point.

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

TEST(socketio_packet, reads_escaped_lone_surrogates_as_replacement_characters_and_says_so) {
  const struct {
    std::string_view text;
    std::string_view decoded; // the second argument
  } cases[] = {
      {R"(2["e","\ud800"])", "\xEF\xBF\xBD"},
      {R"(2["e","a\udc00b"])", "a\xEF\xBF\xBD" "b"},
      {R"(2["e","\ud800\u0041"])", "\xEF\xBF\xBD" "A"},
      {R"(2["e","\ud800\ud83d\ude00"])", "\xEF\xBF\xBD\xF0\x9F\x98\x80"},
      {R"(2["e",{"k\uDBFF":"\\ud800"}])", ""},
  };
  for (const auto& example : cases) {
    decoder decoder;
    const auto result = decoder.on_text(example.text);
    ASSERT_TRUE(result && *result) << example.text;
    EXPECT_TRUE((*result)->replaced_lone_surrogates) << example.text;
    const auto& argument = (*result)->data.as_array().at(1);
    if (argument.is_string()) {
      EXPECT_EQ(std::string_view(argument.as_string()), example.decoded) << example.text;
    } else {
      // A key is repaired too; an escaped backslash before "ud800" is no escape at all.
      const auto& object = argument.as_object();
      ASSERT_EQ(object.size(), 1U);
      EXPECT_EQ(std::string_view(object.begin()->key()), "k\xEF\xBF\xBD");
      EXPECT_EQ(std::string_view(object.begin()->value().as_string()), "\\ud800");
    }
  }
  // A proper pair is no repair; broken JSON stays broken.
  decoder pair;
  const auto proper = pair.on_text(R"(2["e","\ud83d\ude00"])");
  ASSERT_TRUE(proper && *proper);
  EXPECT_FALSE((*proper)->replaced_lone_surrogates);
  decoder broken;
  EXPECT_FALSE(broken.on_text(R"(2["e","\ud800)"));
}

} // namespace
} // namespace parley::socketio
