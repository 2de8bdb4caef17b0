// parley: the command line. `parley serve` wires the layers together and runs the server;
// `parley --help` lists every flag. The flags come from the configuration's settings table,
// so every setting has exactly one flag, one environment variable and one TOML key.

#include "api/realtime.hpp"
#include "api/routes.hpp"
#include "app/allocator.hpp"
#include "app/cluster.hpp"
#include "app/compliance.hpp"
#include "app/media.hpp"
#include "app/metrics.hpp"
#include "app/push.hpp"
#include "auth/auth_service.hpp"
#include "auth/phone.hpp"
#include "chat/json.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "config/config.hpp"
#include "engineio/engine.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "sms/sender.hpp"
#include "socketio/hub.hpp"
#include "socketio/server.hpp"
#include "store/open.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string_view>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace parley;

// I/O threads when the configuration leaves it to the machine: one per core but the one the
// store's writer keeps busy under load, at least one (docs/operations.md, "threads").
std::size_t default_io_threads() {
  const unsigned cores = std::thread::hardware_concurrency(); // 0: unknown
  return cores > 1 ? cores - 1 : 1;
}

struct command_line {
  std::optional<std::string> config_path;
  std::map<std::string, std::vector<std::string>> values; // setting key -> values given
};

// Registers one CLI11 option per setting that has a flag.
void add_setting_options(CLI::App& app, command_line& into) {
  for (const auto& entry : config::settings()) {
    if (entry.flag.empty()) {
      continue;
    }
    const config::config defaults;
    std::string description = std::string(entry.help) + " [env " + std::string(entry.environment);
    if (const auto shown = entry.show(defaults); !shown.empty()) {
      description += ", default " + shown;
    }
    description += "]";
    auto& target = into.values[std::string(entry.key)];
    if (entry.value_name == "BOOL") {
      // A bare `--flag` means true; `--flag=false` is accepted too.
      app.add_flag(std::string(entry.flag) + "{true}", target, description)->type_name("[=BOOL]");
      continue;
    }
    auto* option = app.add_option(std::string(entry.flag), target, description);
    option->type_name(std::string(entry.value_name));
    if (entry.is_list) {
      option->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->expected(1);
    }
  }
}

// Every connection is a file descriptor: take all the operating system allows this process
// (the soft limit up to the hard one), as nginx's worker_rlimit_nofile would.
void raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  const auto before = limit.rlim_cur;
  // An unlimited hard limit still stops at the kernel's fs.nr_open (1,048,576 by default).
  const rlim_t target = limit.rlim_max == RLIM_INFINITY ? 1'048'576 : limit.rlim_max;
  if (limit.rlim_cur < target) {
    limit.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      limit.rlim_cur = before;
    }
  }
  spdlog::info("server.file_limit open_files={} was={} hard={}", limit.rlim_cur, before,
               limit.rlim_max);
}

// The sign-in rules from the configuration: for the server and for the operator commands.
auth::policy auth_rules(const config::config& settings) {
  auth::policy rules;
  rules.default_region = settings.default_region;
  rules.code_ttl = settings.code_ttl;
  rules.code_resend_interval = settings.code_resend_interval;
  rules.code_max_attempts = settings.code_max_attempts;
  rules.codes_per_phone_per_hour = settings.codes_per_phone_per_hour;
  rules.codes_per_address_per_hour = settings.codes_per_address_per_hour;
  rules.session_idle_timeout = settings.session_idle_timeout;
  return rules;
}

int serve(const config::config& settings) {
  log::initialize(settings.log_level);
  const auto listen = config::parse_listen(settings.listen);
  if (!settings.node_id.empty()) {
    spdlog::info("server.node id={}", settings.node_id); // its sids start with "<id>."
  }
  raise_file_limit();
  spdlog::info("server.allocator name={}", log::quoted(parley::app::allocator_in_use()));

  system_clock clock;
  const auto opened =
      store::open_database(settings.database, settings.database_readers, settings.slow_commit);
  store::database& database = *opened;
  spdlog::info("store.open database={} schema_version={}", store::redacted(settings.database),
               database.schema_version());

  // Outbound calls (the SMS provider, push services) run on their own thread, never on an I/O
  // thread.
  app::io_context outbound(1);
  auto outbound_guard = asio::make_work_guard(outbound);
  auto outbound_thread = common::named_thread("outbound", [&outbound] { outbound.run(); });
  // Also when start-up fails (say the address is in use): a joinable thread left behind
  // would end the process with std::terminate instead of exit status 1.
  struct outbound_stopper {
    asio::io_context& context;
    std::thread& thread;
    ~outbound_stopper() {
      context.stop();
      if (thread.joinable()) {
        thread.join();
      }
    }
  } stop_outbound{outbound, outbound_thread};

  std::unique_ptr<sms::sender> sender;
  if (config::uses_twilio(settings)) {
    sms::twilio_settings twilio;
    twilio.account_sid = settings.twilio_account_sid;
    twilio.auth_token = settings.twilio_auth_token;
    twilio.phone_number = settings.twilio_phone_number;
    twilio.verify_service_sid = settings.twilio_verify_service_sid;
    twilio.api_base = settings.twilio_api_base;
    twilio.verify_api_base = settings.twilio_verify_api_base;
    twilio.timeout = settings.sms_timeout;
    sender = sms::make_twilio_sender(std::move(twilio), outbound.get_executor());
  } else {
    sender = sms::make_development_sender();
  }
  spdlog::info("sms.sender name={}", sender->name());

  auth::auth_service auth(auth_rules(settings), database, *sender, clock);

  http::metrics counters;
  app::add_store_metrics(counters, database);

  http::server_options options;
  options.body_limits.emplace_back("/engine.io/", settings.max_payload);
  options.body_limits.emplace_back("/socket.io/", settings.max_payload);
  options.host = listen.host;
  options.port = listen.port;
  options.threads = settings.threads != 0 ? settings.threads : default_io_threads();
  options.max_header_bytes = settings.max_header_bytes;
  options.max_body_bytes = settings.max_body_bytes;
  options.header_timeout = settings.header_timeout;
  options.idle_timeout = settings.idle_timeout;
  options.max_connections_per_address = settings.max_connections_per_address;
  options.drain_timeout = settings.drain_timeout;
  options.trust_proxy = settings.trust_proxy;
  // SQLite's reads run on the I/O thread that asks for them, within a budget, and a light
  // load of writes commits there too (on PostgreSQL, and with a zero budget, read_here and
  // write_here give nothing: reads stay on reader threads, writes on the writer thread).
  options.thread_state =
      [&database, reads = settings.io_thread_read_budget,
       commits = settings.io_thread_commit_budget](const boost::asio::any_io_executor& executor) {
        struct local_store {
          std::unique_ptr<store::local_reads> reads;
          std::unique_ptr<store::local_writes> writes;
        };
        return std::shared_ptr<void>(std::make_shared<local_store>(
            local_store{database.read_here(reads), database.write_here(executor, commits)}));
      };

  socketio::hub hub;
  chat::policy chat_rules;
  chat_rules.default_region = settings.default_region;
  chat_rules.max_message_length = settings.max_message_length;
  chat_rules.max_group_members = settings.max_group_members;
  chat_rules.message_rate = settings.message_rate;
  chat_rules.message_burst = settings.message_burst;
  chat_rules.edit_window = settings.edit_window;
  chat_rules.delete_window = settings.delete_window;
  chat_rules.message_cache_bytes = settings.message_cache_bytes;
  for (auto* rate : {&chat_rules.edit_rate, &chat_rules.delete_rate, &chat_rules.reaction_rate}) {
    *rate = settings.change_rate;
  }
  for (auto* burst :
       {&chat_rules.edit_burst, &chat_rules.delete_burst, &chat_rules.reaction_burst}) {
    *burst = 3.0 * settings.change_rate;
  }
  // With --bus, deliveries, receipts, typing, presence and logouts cross to the other nodes.
  app::cluster_link cluster(settings, database);
  chat::chat_service chat(chat_rules, database, hub, clock, cluster.bus(), cluster.executor());
  cluster.start(chat, hub);
  // Also on a failed start-up: nothing from the bus may reach `chat` once it is gone.
  struct cluster_stopper {
    app::cluster_link& link;
    ~cluster_stopper() { link.stop(); }
  } stop_cluster_on_exit{cluster};
  if (!settings.bus.empty()) {
    spdlog::info("bus.start url={}", settings.bus);
  }

  const http::static_files web(settings.web_root);
  if (web.empty()) {
    spdlog::warn("web.missing root={} note=\"no index.html there: / serves a placeholder page\"",
                 settings.web_root);
  } else {
    spdlog::info("web.loaded root={} files={}", settings.web_root, web.file_count());
  }

  http::router routes;
  http::server server(options, routes, counters);
  api::dependencies dependencies{auth, counters, settings.allowed_origins,
                                 [&server] { return server.draining(); }, &chat, &web};
  dependencies.allowed_origins.push_back("http://" + settings.listen);
  dependencies.node_id = settings.node_id;
  app::media_parts media(settings, database);
  dependencies.uploads = &media.service();
  app::push_parts push(settings, database, clock, chat, outbound.get_executor(), counters);
  dependencies.push = &push.service();
  api::add_routes(routes, dependencies);

  // Real time: Socket.IO at /socket.io/. The compliance mode replaces it with the upstream
  // Socket.IO suite's server and adds the Engine.IO suite's echo server at /engine.io/, both
  // with the suites' connect timeout (and, unless set explicitly, their heartbeat: see
  // config::load).
  engineio::options realtime;
  realtime.ping_interval = settings.ping_interval;
  realtime.ping_timeout = settings.ping_timeout;
  realtime.max_payload = settings.max_payload;
  // A WebSocket close handshake must end well within the drain (see http.drain_timeout).
  realtime.close_timeout = std::min(realtime.close_timeout,
                                    std::chrono::milliseconds(settings.drain_timeout) / 2);
  realtime.allowed_origins = dependencies.allowed_origins;
  if (!settings.node_id.empty()) {
    realtime.sid_prefix = settings.node_id + "."; // nginx routes a sid back by it
  }
  socketio::server_options socket_options;
  if (settings.compliance) {
    spdlog::warn("server.compliance_mode endpoints=/engine.io/,/socket.io/ origins=any "
                 "authentication=none note=\"a testing aid: never run it in production\"");
    realtime.allow_any_origin = true;
    socket_options.connect_timeout = std::chrono::milliseconds(1000);
  }
  api::realtime_namespace parley_namespace(auth, hub, &chat);
  compliance::suite_namespace suite_main(true);
  compliance::suite_namespace suite_custom(false);
  socketio::server sockets(socket_options);
  if (settings.compliance) {
    sockets.add_namespace("/", suite_main);
    sockets.add_namespace("/custom", suite_custom);
  } else {
    sockets.add_namespace("/", parley_namespace);
  }
  compliance::echo_handler echo;
  std::vector<std::unique_ptr<engineio::engine>> engines;
  const auto mount = [&](std::string path, engineio::session_handler& handler) {
    auto& engine = *engines.emplace_back(std::make_unique<engineio::engine>(realtime, handler));
    auto handle = [&engine](http::request_context& context) { return engine.handle_http(context); };
    using boost::beast::http::verb;
    for (const auto method : {verb::get, verb::post, verb::options, verb::put, verb::delete_,
                              verb::patch}) {
      routes.add(method, path, handle);
    }
    server.on_upgrade(path, [&engine](auto upgrade) { return engine.handle_upgrade(std::move(upgrade)); });
    server.on_drain([&engine] { engine.close_all(); });
  };
  mount("/socket.io", sockets);
  if (settings.compliance) {
    mount("/engine.io", echo);
  }
  counters.add_sampled("parley_realtime_sessions", "Engine.IO sessions open now.", "gauge",
                       [&engines] { return double(engines.front()->session_count()); });
  counters.add_sampled("parley_realtime_sockets", "Authenticated Socket.IO sockets now.", "gauge",
                       [&hub] { return double(hub.socket_count()); });
  counters.add_sampled_histogram(
      "parley_message_send_seconds",
      "How long each stored message:send took in the server, from the event's arrival to its "
      "acknowledgement handed to the socket (the durable commit included; refused sends are not "
      "counted).",
      [&parley_namespace] { return parley_namespace.send_latencies(); });
  cluster.add_metrics(counters, chat);
  counters.add_sampled("parley_message_texts_bytes",
                       "Memory held by messages kept as text for history pages.", "gauge",
                       [&chat] { return double(chat.texts().statistics().bytes); });
  counters.add_sampled("parley_message_texts_hits_total",
                       "Messages of history pages found kept as text.", "counter",
                       [&chat] { return double(chat.texts().statistics().hits); });
  counters.add_sampled("parley_message_texts_misses_total",
                       "Messages of history pages read and written out (not kept, or changed).",
                       "counter", [&chat] { return double(chat.texts().statistics().misses); });
  counters.add_sampled("parley_log_index_bytes",
                       "Memory held by where conversations' messages are, kept for history pages.",
                       "gauge", [&chat] { return double(chat.index_statistics().bytes); });
  counters.add_sampled("parley_log_index_hits_total",
                       "History pages located from the kept places of messages.", "counter",
                       [&chat] { return double(chat.index_statistics().hits); });
  counters.add_sampled("parley_log_index_misses_total",
                       "History pages located from the store's indexes instead.", "counter",
                       [&chat] { return double(chat.index_statistics().misses); });

  try {
    server.start();
  } catch (...) {
    server.stop(); // now, while the engines its drain closes are still alive
    throw;
  }

  asio::signal_set signals(server.next_executor(), SIGTERM, SIGINT);
  signals.async_wait([&server](const boost::system::error_code& error, int number) {
    if (!error) {
      spdlog::info("server.signal number={}", number);
      server.stop();
    }
  });

  // Expired codes are deleted every ten minutes.
  asio::steady_timer purge_timer(server.next_executor());
  asio::co_spawn(
      purge_timer.get_executor(),
      [&]() -> asio::awaitable<void> {
        for (;;) {
          purge_timer.expires_after(std::chrono::minutes(10));
          co_await purge_timer.async_wait(asio::use_awaitable);
          const int purged = co_await auth.purge_expired_codes();
          spdlog::debug("auth.purged_codes count={}", purged);
        }
      },
      asio::detached);

  media.start_collector(server.next_executor());

  spdlog::info("server.ready url=http://{}:{}/", listen.host, server.port());
  server.wait();
  outbound_guard.reset();
  outbound.stop();
  outbound_thread.join();
  database.stop(); // the last commits' deliveries still go out on the bus
  cluster.stop();
  // Handlers of either context can hold strands of the other: both queues are emptied before
  // either context is destroyed (app/io_context.hpp).
  outbound.discard_pending();
  cluster.discard_pending();
  spdlog::info("server.stopped");
  return 0;
}

// Operator commands: `parley users add|import` and `parley tokens issue` act on the database
// directly (no server, no SMS), e.g. to onboard people or to give load tests their users.
struct operator_request {
  std::string phone;
  std::string name;
  bool token = false;
};

// The store and the auth rules, as the server would set them up, for one command.
struct operator_context {
  explicit operator_context(const config::config& settings)
      : database(store::open_database(settings.database, settings.database_readers)),
        sender(sms::make_development_sender()),
        auth(auth_rules(settings), *database, *sender, clock) {}
  ~operator_context() { database->stop(); }
  operator_context(const operator_context&) = delete;
  operator_context& operator=(const operator_context&) = delete;

  system_clock clock;
  std::unique_ptr<store::database> database;
  std::unique_ptr<sms::sender> sender;
  auth::auth_service auth;
};

boost::json::object account_json(const auth::account& added) {
  boost::json::object out{{"user", chat::user_json(added.user)}, {"created", added.created}};
  if (!added.token.empty()) {
    out["token"] = added.token;
  }
  return out;
}

int report_failure(const auth::error& failure) {
  std::fprintf(stderr, "parley: %s: %s\n", std::string(auth::to_string(failure.code)).c_str(),
               failure.message.c_str());
  return 1;
}

// `parley users add --phone P --name N [--token]`: one JSON object on stdout.
int add_user(const config::config& settings, const operator_request& request) {
  operator_context context(settings);
  auto results = context.auth.add_accounts({{request.phone, request.name}}, request.token);
  if (!results.front()) {
    return report_failure(results.front().error());
  }
  std::cout << boost::json::serialize(account_json(*results.front())) << '\n';
  return 0;
}

// `parley users import [--tokens]`: stdin has one account per line, `PHONE,NAME` (the first
// comma separates them; blank lines and lines starting with # are skipped). stdout gets one
// JSON object per account line, in order: the account, or {"line", "error": {code, message}}.
// Exit 1 when any line failed (the others are added all the same).
int import_users(const config::config& settings, bool tokens) {
  std::vector<auth::account_entry> entries;
  std::vector<std::size_t> line_numbers;
  std::vector<std::pair<std::size_t, std::string>> malformed;
  std::string line;
  for (std::size_t number = 1; std::getline(std::cin, line); ++number) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const auto comma = line.find(',');
    if (comma == std::string::npos) {
      malformed.emplace_back(number, line);
      continue;
    }
    entries.push_back({line.substr(0, comma), line.substr(comma + 1)});
    line_numbers.push_back(number);
  }
  operator_context context(settings);
  const auto results = context.auth.add_accounts(entries, tokens);
  bool failed = !malformed.empty();
  std::vector<std::pair<std::size_t, boost::json::object>> lines; // in input order
  for (const auto& [number, text] : malformed) {
    lines.emplace_back(number, boost::json::object{
                                   {"line", number},
                                   {"error", {{"code", "bad_request"},
                                              {"message", "Expected PHONE,NAME on this line."}}}});
  }
  for (std::size_t index = 0; index < results.size(); ++index) {
    boost::json::object out{{"line", line_numbers[index]}};
    if (results[index]) {
      for (auto& [key, value] : account_json(*results[index])) {
        out[key] = value;
      }
    } else {
      failed = true;
      out["error"] = {{"code", auth::to_string(results[index].error().code)},
                      {"message", results[index].error().message}};
    }
    lines.emplace_back(line_numbers[index], std::move(out));
  }
  std::ranges::sort(lines, {}, &std::pair<std::size_t, boost::json::object>::first);
  for (const auto& [number, out] : lines) {
    std::cout << boost::json::serialize(out) << '\n';
  }
  return failed ? 1 : 0;
}

// `parley tokens issue --phone P`: the token alone on stdout.
int issue_token(const config::config& settings, const std::string& phone) {
  operator_context context(settings);
  auto issued = context.auth.issue_token(phone);
  if (!issued) {
    return report_failure(issued.error());
  }
  std::cout << issued->token << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Parley: real-time chat server.\n"
               "Configuration: flags over environment over the TOML file over defaults.",
               "parley"};
  app.set_version_flag("--version",
                       "parley 0.1.0 (allocator: " + parley::app::allocator_in_use() + ")");
  app.require_subcommand(1);
  command_line given;
  std::string config_path;
  app.add_option("--config", config_path, "TOML configuration file [env PARLEY_CONFIG]")
      ->type_name("FILE");
  add_setting_options(app, given);
  app.footer("Secrets are read from the environment or the TOML file only, never from flags:\n"
             "  TWILIO_AUTH_TOKEN    Twilio auth token (twilio_auth_token in TOML)\n"
             "Documentation: README.md, docs/operations.md, docs/api.md");
  auto* serve_command = app.add_subcommand("serve", "Run the server");
  serve_command->fallthrough();

  operator_request request;
  bool import_tokens = false;
  auto* users_command = app.add_subcommand("users", "Manage accounts in the database directly");
  users_command->require_subcommand(1);
  auto* add_command = users_command->add_subcommand(
      "add", "Add an account (no SMS); prints it as JSON. An existing number keeps its account.");
  add_command->add_option("--phone", request.phone, "Phone number")->required();
  add_command->add_option("--name", request.name, "Display name")->required();
  add_command->add_flag("--token", request.token, "Also open a session and print its token");
  auto* import_command = users_command->add_subcommand(
      "import", "Add the accounts listed on stdin, one PHONE,NAME per line; one JSON line each");
  import_command->add_flag("--tokens", import_tokens, "Also open a session for each account");
  auto* tokens_command = app.add_subcommand("tokens", "Manage session tokens");
  tokens_command->require_subcommand(1);
  auto* issue_command = tokens_command->add_subcommand(
      "issue", "Open a session for an existing account and print its bearer token");
  issue_command->add_option("--phone", request.phone, "Phone number of the account")->required();
  for (auto* command : {users_command, add_command, import_command, tokens_command, issue_command}) {
    command->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  config::sources sources;
  if (!config_path.empty()) {
    sources.toml_path = config_path;
  } else if (auto from_environment = config::process_environment("PARLEY_CONFIG")) {
    sources.toml_path = *from_environment;
  }
  sources.environment = config::process_environment;
  for (auto& [key, values] : given.values) {
    if (!values.empty()) {
      sources.flags[key] = values;
    }
  }

  config::config settings;
  try {
    settings = config::load(sources);
  } catch (const config::config_error& error) {
    std::fprintf(stderr, "parley: invalid configuration: %s\n", error.what());
    return 2;
  }

  if (!auth::is_known_region(settings.default_region)) {
    std::fprintf(stderr,
                 "parley: invalid configuration: default_region: '%s' is not a region Parley "
                 "knows national numbers for (see docs/operations.md)\n",
                 settings.default_region.c_str());
    return 2;
  }

  try {
    if (serve_command->parsed()) {
      return serve(settings);
    }
    log::initialize(settings.log_level);
    if (add_command->parsed()) {
      return add_user(settings, request);
    }
    if (import_command->parsed()) {
      return import_users(settings, import_tokens);
    }
    if (issue_command->parsed()) {
      return issue_token(settings, request.phone);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parley: %s\n", error.what());
    spdlog::critical("server.failed error={}", log::quoted(error.what()));
    return 1;
  }
  return 0;
}
