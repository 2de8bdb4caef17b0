#include "socketio/packet.hpp"

#include "packet_cases.hpp"
#include "socketio/server.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace parley::socketio {
namespace {

using namespace std::string_view_literals;
using namespace cases;

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
  EXPECT_EQ(*serialize_event("message", single_argument(boost::json::object{{"id", 7}})),
            R"(["message",{"id":7}])");
}

TEST(socketio_packet, writes_an_argument_given_as_json_text_whole_or_in_pieces) {
  const auto whole = single_serialized_argument(R"({"id":7})");
  ASSERT_NE(whole.serialized_args, nullptr);
  EXPECT_EQ(*whole.serialized_args, R"([{"id":7}])");
  const auto pieces = single_serialized_argument({R"({"ok":true,"message":)", R"({"id":7})", "}"});
  ASSERT_NE(pieces.serialized_args, nullptr);
  EXPECT_EQ(*pieces.serialized_args, R"([{"ok":true,"message":{"id":7}}])");
  EXPECT_TRUE(pieces.args.empty());
  EXPECT_TRUE(pieces.attachments.empty());
  EXPECT_EQ(*serialize_event("message", pieces), R"(["message",{"ok":true,"message":{"id":7}}])");
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

TEST(socketio_packet, reads_escaped_lone_surrogates_as_replacement_characters_and_says_so) {
  const struct {
    std::string_view text;
    std::string_view decoded; // the second argument
  } cases[] = {
      {R"(2["e","\ud800"])", "\xEF\xBF\xBD"},
      {R"(2["e","a\udc00b"])", "a\xEF\xBF\xBD"
                               "b"},
      {R"(2["e","\ud800\u0041"])", "\xEF\xBF\xBD"
                                   "A"},
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
