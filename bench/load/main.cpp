// parley-load: drives a Socket.IO chat server (Parley, or the peer in bench/peers) with many
// WebSocket clients and reports what it measured. See bench/README.md.
//
//   parley-load WORKLOAD --url http://127.0.0.1:8080 --users users.txt [--server-pid PID] …
//
// The users file has one `ID TOKEN` per line (`parley users import --tokens` makes them for
// Parley). Each workload prints one line `LABEL WORKLOAD key=value …` and, with --json,
// writes the same as a JSON object.

#include "workloads.hpp"

#include <CLI/CLI.hpp>
#include <boost/url/parse.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace parley::load;

// Raises the open-file limit to the hard limit: the idle workload holds a socket per user.
void raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

server_address parse_url(const std::string& text) {
  const auto url = boost::urls::parse_uri(text);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    throw CLI::ValidationError("--url", "expected http://HOST:PORT, got " + text);
  }
  server_address address;
  address.host = url->host();
  address.port = url->has_port() ? url->port_number() : 80;
  return address;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-load: load generator for Socket.IO chat servers (Parley and its peer)",
               "parley-load"};
  app.require_subcommand(1);
  common_options common;
  std::string url = "http://127.0.0.1:8080";
  std::string receiver_url;
  std::vector<int> server_pids;
  std::vector<std::string> watched;
  app.add_option("--url", url, "The server (http://HOST:PORT)")->capture_default_str();
  app.add_option("--receiver-url", receiver_url,
                 "Another node of the same cluster for the receiving side (throughput: every "
                 "receiver connects there, every sender to --url)");
  app.add_option("--users", common.users_file, "Users file: one `ID TOKEN` per line")->required();
  app.add_option("--server-pid", server_pids,
                 "Server process, for CPU time and memory (repeat for every node: summed)")
      ->allow_extra_args(false);
  std::vector<std::string> metrics_urls;
  app.add_option("--metrics-url", metrics_urls,
                 "A further node (http://HOST:PORT) whose /metrics counters are added; no "
                 "client connects to it (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--watch", watched,
                 "NAME=PID: report this process's CPU per unit of work as NAME_cpu_us_per_…, "
                 "its descendants and reaped children included (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--metrics", common.metrics,
               "Read the servers' /metrics (Parley's store commits, bus counters)");
  app.add_option("--threads", common.threads, "Generator threads")->capture_default_str();
  app.add_flag("--gather-writes", common.gather_writes,
               "A connection's frames sent while one handler runs leave in one write (default: "
               "each frame is written when it is sent, as Node's ws client does)");
  app.add_option("--connect-concurrency", common.connect_concurrency,
                 "Handshakes in flight while connecting")
      ->capture_default_str();
  app.add_option("--source-addresses", common.source_addresses,
                 "Connect from 127.0.0.1 … 127.0.0.N in turn (beyond one address's ports)")
      ->capture_default_str();
  app.add_option("--label", common.label, "Name of the server in the output")
      ->capture_default_str();
  app.add_option("--json", common.json_path, "Write the result here as JSON");

  throughput_options throughput;
  auto* throughput_command = app.add_subcommand(
      "throughput", "Pairs of users; each sender keeps W messages in flight (or a paced rate)");
  throughput_command->add_option("--pairs", throughput.pairs)->capture_default_str();
  throughput_command->add_option("--window", throughput.window, "Messages in flight per sender")
      ->capture_default_str();
  throughput_command
      ->add_option("--rate", throughput.rate,
                   "Offered messages/s in all (paced); 0 = as fast as acked")
      ->capture_default_str();
  throughput_command
      ->add_option("--offline", throughput.offline,
                   "The receivers of the last N pairs never connect (their messages are stored "
                   "and pushed, not delivered); server CPU is then per acknowledged message, "
                   "and offline_acked_total counts the messages to them over the whole run")
      ->capture_default_str();
  throughput_command->add_option("--warmup", throughput.warmup_seconds)->capture_default_str();
  throughput_command->add_option("--seconds", throughput.seconds)->capture_default_str();

  fanout_options fanout;
  auto* fanout_command = app.add_subcommand("fanout", "One group; one message to every member");
  fanout_command->add_option("--members", fanout.members, "Group size, sender included")
      ->capture_default_str();
  fanout_command->add_option("--rounds", fanout.rounds)->capture_default_str();
  fanout_command->add_option("--burst", fanout.burst)->capture_default_str();
  fanout_command->add_option("--window", fanout.window)->capture_default_str();

  idle_options idle;
  auto* idle_command = app.add_subcommand("idle", "Many idle authenticated connections");
  idle_command->add_option("--connections", idle.connections)->capture_default_str();
  idle_command->add_option("--warmup", idle.warmup, "Connections opened before the first reading")
      ->capture_default_str();
  idle_command->add_option("--hold", idle.hold_seconds)->capture_default_str();

  history_options history;
  auto* history_command =
      app.add_subcommand("history", "Fill one conversation, then read random pages of it");
  history_command->add_option("--messages", history.messages)->capture_default_str();
  history_command->add_option("--page", history.page)->capture_default_str();
  history_command->add_option("--concurrency", history.concurrency)->capture_default_str();
  history_command->add_option("--seconds", history.seconds)->capture_default_str();

  churn_options churn;
  auto* churn_command = app.add_subcommand("churn", "Connect, authenticate, disconnect, again");
  churn_command->add_option("--concurrency", churn.concurrency)->capture_default_str();
  churn_command->add_option("--seconds", churn.seconds)->capture_default_str();

  sync_options sync;
  auto* sync_command = app.add_subcommand(
      "sync", "Parley only: R's devices catch up (sync) after changes in R's conversations");
  sync_command->add_option("--conversations", sync.conversations)->capture_default_str();
  sync_command->add_option("--messages", sync.messages, "New messages per conversation")
      ->capture_default_str();
  sync_command->add_option("--edits", sync.edits, "Edits per conversation")->capture_default_str();
  sync_command->add_option("--reactions", sync.reactions, "Reactions per conversation")
      ->capture_default_str();
  sync_command->add_option("--window", sync.window, "Changes in flight per sender")
      ->capture_default_str();
  sync_command->add_option("--limit", sync.limit, "Messages per sync page")
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  sync_command->add_option("--devices", sync.devices, "Devices of R syncing at once")
      ->capture_default_str();

  for (auto* command : {throughput_command, fanout_command, idle_command, history_command,
                        churn_command, sync_command}) {
    command->fallthrough();
  }
  try {
    app.parse(argc, argv);
    common.server = parse_url(url);
    if (!receiver_url.empty()) {
      common.receiver_server = parse_url(receiver_url);
    }
    if (!server_pids.empty()) {
      common.server_pid = server_pids.front();
      common.more_server_pids.assign(server_pids.begin() + 1, server_pids.end());
    }
    for (const auto& entry : metrics_urls) {
      common.more_metrics_servers.push_back(parse_url(entry));
    }
    for (const auto& entry : watched) {
      const auto equals = entry.find('=');
      if (equals == std::string::npos || equals == 0) {
        throw CLI::ValidationError("--watch", "expected NAME=PID, got " + entry);
      }
      common.watched.push_back({entry.substr(0, equals), std::stoi(entry.substr(equals + 1))});
    }
    if (common.receiver_server && !throughput_command->parsed()) {
      throw CLI::ValidationError("--receiver-url", "only the throughput workload splits pairs");
    }
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  raise_file_limit();
  try {
    if (throughput_command->parsed()) {
      run_throughput(common, throughput);
    } else if (fanout_command->parsed()) {
      run_fanout(common, fanout);
    } else if (idle_command->parsed()) {
      run_idle(common, idle);
    } else if (history_command->parsed()) {
      run_history(common, history);
    } else if (churn_command->parsed()) {
      run_churn(common, churn);
    } else if (sync_command->parsed()) {
      run_sync(common, sync);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parley-load: %s\n", error.what());
    return 1;
  }
  return 0;
}
