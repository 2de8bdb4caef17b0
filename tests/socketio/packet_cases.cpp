#include "packet_cases.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace parley::socketio {

void PrintTo(const packet& value, std::ostream* out) {
  *out << "{type " << static_cast<int>(value.type) << ", nsp " << value.nsp << ", id "
       << (value.id ? std::to_string(*value.id) : "none") << ", data "
       << boost::json::serialize(value.data) << ", attachments "
       << ::testing::PrintToString(value.attachments) << "}";
}

namespace cases {

boost::json::value json(std::string_view text) {
  return boost::json::parse(text);
}

packet make_packet(packet_type type, std::string nsp, std::optional<std::uint64_t> id,
                   std::string_view data_json, std::vector<std::string> attachments) {
  packet result;
  result.type = type;
  result.nsp = std::move(nsp);
  result.id = id;
  result.data = data_json.empty() ? boost::json::value() : json(data_json);
  result.attachments = std::move(attachments);
  return result;
}

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

} // namespace cases
} // namespace parley::socketio
