#include "config/config.hpp"

#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace parley::config {
namespace {

using environment_map = std::map<std::string, std::string, std::less<>>;

sources with_environment(const environment_map& values) {
  sources result;
  result.environment = [values](std::string_view name) -> std::optional<std::string> {
    if (const auto found = values.find(name); found != values.end()) {
      return found->second;
    }
    return std::nullopt;
  };
  return result;
}

std::string write_file(const testing::temporary_directory& directory, const std::string& text) {
  const auto path = directory.file("parley.toml");
  std::ofstream(path) << text;
  return path;
}

TEST(config, defaults_match_the_contract) {
  const auto value = load(with_environment({}));
  EXPECT_EQ(value.listen, "127.0.0.1:8080");
  EXPECT_EQ(value.database, "var/parley.db");
  EXPECT_EQ(value.default_region, "US");
  EXPECT_EQ(value.message_rate, 20);
  EXPECT_EQ(value.code_ttl, std::chrono::seconds(600));
  EXPECT_EQ(value.code_resend_interval, std::chrono::seconds(30));
  EXPECT_EQ(value.code_max_attempts, 5);
  EXPECT_EQ(value.codes_per_phone_per_hour, 5);
  EXPECT_EQ(value.codes_per_address_per_hour, 50);
  EXPECT_EQ(value.session_idle_timeout, std::chrono::hours(24 * 30));
  EXPECT_FALSE(uses_twilio(value));
}

TEST(config, flags_beat_environment_beat_toml_beat_defaults) {
  testing::temporary_directory directory;
  auto from = with_environment({{"PARLEY_LISTEN", "127.0.0.1:2000"}, {"PARLEY_MESSAGE_RATE", "7"}});
  from.toml_path = write_file(directory, "listen = \"127.0.0.1:1000\"\n"
                                         "message_rate = 3\n"
                                         "default_region = \"GB\"\n"
                                         "code_ttl = 120\n");
  from.flags["listen"] = {"127.0.0.1:3000"};
  const auto value = load(from);
  EXPECT_EQ(value.listen, "127.0.0.1:3000");                 // flag
  EXPECT_EQ(value.message_rate, 7);                          // environment over TOML
  EXPECT_EQ(value.default_region, "GB");                     // TOML over default
  EXPECT_EQ(value.code_ttl, std::chrono::seconds(120));      // TOML
  EXPECT_EQ(value.database, "var/parley.db");                // default
}

TEST(config, compliance_mode_defaults_to_the_suites_heartbeat) {
  auto from = with_environment({});
  from.flags["compliance"] = {"true"};
  const auto value = load(from);
  EXPECT_EQ(value.ping_interval, std::chrono::milliseconds(300));
  EXPECT_EQ(value.ping_timeout, std::chrono::milliseconds(200));

  const auto normal = load(with_environment({}));
  EXPECT_EQ(normal.ping_interval, std::chrono::milliseconds(25'000));
  EXPECT_EQ(normal.ping_timeout, std::chrono::milliseconds(20'000));
}

TEST(config, an_explicit_heartbeat_wins_over_the_compliance_default_from_any_source) {
  testing::temporary_directory directory;
  {
    auto from = with_environment({{"PARLEY_COMPLIANCE", "true"}});
    from.flags["ping_interval"] = {"5000"};
    from.flags["ping_timeout"] = {"4000"};
    const auto value = load(from);
    EXPECT_TRUE(value.compliance);
    EXPECT_EQ(value.ping_interval, std::chrono::milliseconds(5000));
    EXPECT_EQ(value.ping_timeout, std::chrono::milliseconds(4000));
  }
  {
    auto from = with_environment({{"PARLEY_PING_TIMEOUT", "7000"}});
    from.flags["compliance"] = {"true"};
    const auto value = load(from);
    EXPECT_EQ(value.ping_interval, std::chrono::milliseconds(300)); // not set: suite default
    EXPECT_EQ(value.ping_timeout, std::chrono::milliseconds(7000)); // environment
  }
  {
    auto from = with_environment({});
    from.toml_path = write_file(directory, "compliance = true\nping_interval = 9000\n");
    const auto value = load(from);
    EXPECT_EQ(value.ping_interval, std::chrono::milliseconds(9000)); // TOML
    EXPECT_EQ(value.ping_timeout, std::chrono::milliseconds(200));
  }
  {
    // compliance given but false: the ordinary defaults.
    auto from = with_environment({{"PARLEY_COMPLIANCE", "false"}});
    const auto value = load(from);
    EXPECT_EQ(value.ping_interval, std::chrono::milliseconds(25'000));
  }
}

TEST(config, a_list_from_a_higher_source_replaces_the_lower_one) {
  testing::temporary_directory directory;
  auto from = with_environment({{"PARLEY_ALLOWED_ORIGINS", "https://a.example, https://b.example"}});
  from.toml_path = write_file(directory, "allowed_origins = [\"https://toml.example\"]\n");
  auto value = load(from);
  EXPECT_EQ(value.allowed_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  from.flags["allowed_origins"] = {"https://flag.example"};
  value = load(from);
  EXPECT_EQ(value.allowed_origins, (std::vector<std::string>{"https://flag.example"}));
}

TEST(config, toml_lists_are_read) {
  testing::temporary_directory directory;
  auto from = with_environment({});
  from.toml_path = write_file(directory, "allowed_origins = [\"https://x.example\", \"https://y.example\"]\n");
  EXPECT_EQ(load(from).allowed_origins,
            (std::vector<std::string>{"https://x.example", "https://y.example"}));
}

// Each bad value must be refused with an error that names its field.
struct bad_value {
  std::string environment;
  std::string value;
  std::string field;
};

class config_rejects : public ::testing::TestWithParam<bad_value> {};

TEST_P(config_rejects, a_bad_value_naming_its_field) {
  const auto& bad = GetParam();
  try {
    (void)load(with_environment({{bad.environment, bad.value}}));
    FAIL() << "accepted " << bad.environment << "=" << bad.value;
  } catch (const config_error& error) {
    EXPECT_EQ(error.field(), bad.field);
    EXPECT_NE(std::string(error.what()).find(bad.field), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    table, config_rejects,
    ::testing::Values(bad_value{"PARLEY_LISTEN", "nonsense", "listen"},
                      bad_value{"PARLEY_LISTEN", "127.0.0.1:99999", "listen"},
                      bad_value{"PARLEY_MESSAGE_RATE", "-1", "message_rate"},
                      bad_value{"PARLEY_MESSAGE_RATE", "fast", "message_rate"},
                      bad_value{"PARLEY_MAX_GROUP_MEMBERS", "1001", "max_group_members"},
                      bad_value{"PARLEY_MAX_GROUP_MEMBERS", "1", "max_group_members"},
                      bad_value{"PARLEY_DEFAULT_REGION", "usa", "default_region"},
                      bad_value{"PARLEY_ALLOWED_ORIGINS", "example.com", "allowed_origins"},
                      bad_value{"PARLEY_ALLOWED_ORIGINS", "https://x.example/path", "allowed_origins"},
                      bad_value{"PARLEY_TRUST_PROXY", "maybe", "trust_proxy"},
                      bad_value{"PARLEY_NODE_ID", "N1", "node_id"},
                      bad_value{"PARLEY_NODE_ID", "n1.a", "node_id"},
                      bad_value{"PARLEY_NODE_ID", "n_1", "node_id"},
                      bad_value{"PARLEY_NODE_ID", "-n1", "node_id"},
                      bad_value{"PARLEY_NODE_ID", "n1/../x", "node_id"},
                      bad_value{"PARLEY_NODE_ID", std::string(33, 'n'), "node_id"},
                      bad_value{"PARLEY_CODE_TTL", "5", "code_ttl"},
                      bad_value{"PARLEY_LOG_LEVEL", "loud", "log_level"},
                      bad_value{"PARLEY_DATABASE", "postgres://", "database"},
                      bad_value{"TWILIO_API_BASE", "http://api.twilio.com", "twilio_api_base"},
                      bad_value{"TWILIO_ACCOUNT_SID", "AC123", "twilio_auth_token"}));

TEST(config, an_unknown_toml_key_is_refused_by_name) {
  testing::temporary_directory directory;
  auto from = with_environment({});
  from.toml_path = write_file(directory, "lisen = \"127.0.0.1:1\"\n");
  try {
    (void)load(from);
    FAIL();
  } catch (const config_error& error) {
    EXPECT_EQ(error.field(), "lisen");
  }
}

std::string refused_field(sources from) {
  try {
    (void)load(from);
  } catch (const config_error& error) {
    return error.field();
  }
  return "";
}

TEST(config, a_web_root_that_holds_the_database_or_the_media_is_refused) {
  testing::temporary_directory directory;
  const std::string root = directory.file("site");
  auto from = with_environment({});
  from.flags["web_root"] = {root};
  from.flags["database"] = {root + "/parley.db"};
  EXPECT_EQ(refused_field(from), "web_root");
  from.flags["database"] = {root + "/deeper/../data/parley.db"};
  EXPECT_EQ(refused_field(from), "web_root");
  from.flags["database"] = {directory.file("site-data/parley.db")}; // a sibling, not inside
  EXPECT_EQ(refused_field(from), "");
  from.flags["media_store"] = {root + "/media"};
  EXPECT_EQ(refused_field(from), "web_root");
  from.flags["media_store"] = {directory.file("media")};
  EXPECT_EQ(refused_field(from), "");
  from.flags["database"] = {"postgres://parley@127.0.0.1:5432/parley"};
  from.flags["media_store"] = {"postgres://parley@127.0.0.1:5432/parley"};
  EXPECT_EQ(refused_field(from), "");
}

TEST(config, a_toml_syntax_error_names_the_file_and_line) {
  testing::temporary_directory directory;
  auto from = with_environment({});
  from.toml_path = write_file(directory, "listen = \n");
  try {
    (void)load(from);
    FAIL();
  } catch (const config_error& error) {
    EXPECT_NE(std::string(error.what()).find("line 1"), std::string::npos) << error.what();
  }
}

TEST(config, twilio_settings_select_twilio_and_are_validated_together) {
  auto value = load(with_environment({{"TWILIO_ACCOUNT_SID", "AC1"},
                                      {"TWILIO_AUTH_TOKEN", "secret"},
                                      {"TWILIO_PHONE_NUMBER", "+15005550006"},
                                      {"TWILIO_API_BASE", "http://127.0.0.1:9999"}}));
  EXPECT_TRUE(uses_twilio(value));
  EXPECT_EQ(value.twilio_api_base, "http://127.0.0.1:9999");
}

TEST(config, node_id_is_empty_by_default_and_taken_from_any_source) {
  EXPECT_EQ(load(with_environment({})).node_id, ""); // a single node: sids as ever
  EXPECT_EQ(load(with_environment({{"PARLEY_NODE_ID", "n1"}})).node_id, "n1");
  EXPECT_EQ(load(with_environment({{"PARLEY_NODE_ID", " eu-west-3 "}})).node_id, "eu-west-3");
  EXPECT_EQ(load(with_environment({{"PARLEY_NODE_ID", std::string(32, '7')}})).node_id,
            std::string(32, '7'));
  testing::temporary_directory directory;
  auto from = with_environment({{"PARLEY_NODE_ID", "n2"}});
  from.toml_path = write_file(directory, "node_id = \"n1\"\n");
  EXPECT_EQ(load(from).node_id, "n2"); // environment over TOML
  from.flags["node_id"] = {"n3"};
  EXPECT_EQ(load(from).node_id, "n3"); // flag over environment
}

TEST(config, every_setting_has_an_environment_variable_and_help) {
  for (const auto& entry : settings()) {
    EXPECT_FALSE(entry.environment.empty()) << entry.key;
    EXPECT_FALSE(entry.help.empty()) << entry.key;
    if (!entry.flag.empty()) {
      EXPECT_TRUE(entry.flag.starts_with("--")) << entry.key;
    }
  }
}

TEST(config, the_contract_flags_exist) {
  std::vector<std::string_view> flags;
  for (const auto& entry : settings()) {
    flags.push_back(entry.flag);
  }
  for (const auto* expected : {"--listen", "--database", "--default-region", "--allowed-origin",
                               "--message-rate", "--node-id"}) {
    EXPECT_NE(std::find(flags.begin(), flags.end(), expected), flags.end()) << expected;
  }
}

TEST(config, listen_parses_host_and_port_including_ipv6) {
  EXPECT_EQ(parse_listen("127.0.0.1:8080").port, 8080);
  EXPECT_EQ(parse_listen("[::1]:9000").host, "::1");
  EXPECT_THROW((void)parse_listen("8080"), config_error);
}

} // namespace
} // namespace parley::config
