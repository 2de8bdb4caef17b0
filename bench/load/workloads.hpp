#pragma once
// The workloads of `parley-load`: each connects its users, measures one window and fills a
// report (see bench/README.md for what each one means).

#include "runner.hpp"

namespace parley::load {

struct throughput_options {
  unsigned pairs = 50;
  unsigned window = 10; ///< Messages in flight per sender.
  double rate = 0;      ///< Messages/s offered in all (paced); 0 = as fast as acked.
  /// The receivers of the last `offline` pairs never connect: their messages are stored (and
  /// pushed, for a subscribed receiver) but not delivered; CPU is then per acked message.
  unsigned offline = 0;
  double warmup_seconds = 2;
  double seconds = 10;
};

struct fanout_options {
  unsigned members = 100; ///< The group, sender included.
  unsigned rounds = 20;   ///< One message at a time: latency to the last member.
  unsigned burst = 100;   ///< Then this many with `window` in flight: deliveries/s.
  unsigned window = 8;
};

struct idle_options {
  unsigned connections = 10'000;
  unsigned warmup = 100;
  double hold_seconds = 2;
};

struct history_options {
  unsigned messages = 100'000;
  unsigned page = 50;
  unsigned concurrency = 4;
  double warmup_seconds = 1;
  double seconds = 5;
};

struct churn_options {
  unsigned concurrency = 50;
  double seconds = 5;
};

struct sync_options {
  unsigned conversations = 100; ///< Direct conversations of R, one with each other user.
  unsigned messages = 80;       ///< New messages per conversation while R is away,
  unsigned edits = 10;          ///< edits of some of them,
  unsigned reactions = 10;      ///< and reactions on others.
  unsigned window = 16;         ///< Changes in flight per sender.
  unsigned limit = 500;         ///< Messages per sync page (1–500).
  unsigned devices = 100;       ///< Devices of R catching up at once.
};

void run_throughput(const common_options& options, const throughput_options& workload);
void run_fanout(const common_options& options, const fanout_options& workload);
void run_idle(const common_options& options, const idle_options& workload);
void run_history(const common_options& options, const history_options& workload);
void run_churn(const common_options& options, const churn_options& workload);
/// In sync_workload.cpp.
void run_sync(const common_options& options, const sync_options& workload);

} // namespace parley::load
