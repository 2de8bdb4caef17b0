#include "runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace parley::load {

namespace asio = boost::asio;

std::vector<user> read_users(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw std::runtime_error("cannot read the users file " + path);
  }
  std::vector<user> users;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    user entry;
    if (fields >> entry.id >> entry.token) {
      users.push_back(std::move(entry));
    }
  }
  return users;
}

thread_pool::thread_pool(unsigned threads) {
  for (unsigned index = 0; index < std::max(1U, threads); ++index) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([&context] { context->run(); });
  }
}

thread_pool::~thread_pool() {
  guards_.clear();
  for (auto& context : contexts_) {
    context->stop();
  }
  for (auto& thread : threads_) {
    thread.join();
  }
}

void thread_pool::on_each(const std::function<void(std::size_t)>& function) {
  std::vector<std::future<void>> done;
  for (std::size_t index = 0; index < contexts_.size(); ++index) {
    auto finished = std::make_shared<std::promise<void>>();
    done.push_back(finished->get_future());
    asio::post(*contexts_[index], [&function, index, finished] {
      function(index);
      finished->set_value();
    });
  }
  for (auto& future : done) {
    future.get();
  }
}

namespace {

std::optional<asio::ip::address> source_for(const common_options& options, std::size_t index) {
  if (options.source_addresses <= 1) {
    return std::nullopt;
  }
  const auto last = static_cast<unsigned>(index % options.source_addresses) + 1;
  return asio::ip::make_address_v4((127U << 24) | last);
}

} // namespace

std::vector<connection_ptr> connect_all(thread_pool& pool, const common_options& options,
                                        const std::vector<const user*>& users,
                                        const std::vector<server_address>& servers) {
  std::vector<connection_ptr> connections;
  connections.reserve(users.size());
  const std::size_t wave = std::max(1U, options.connect_concurrency);
  for (std::size_t start = 0; start < users.size(); start += wave) {
    std::vector<std::future<std::string>> opened;
    for (std::size_t index = start; index < std::min(users.size(), start + wave); ++index) {
      auto& context = pool.context(index);
      auto connection = std::make_shared<sio_connection>(context, options.gather_writes);
      connections.push_back(connection);
      opened.push_back(
          asio::co_spawn(context,
                         connection->open(index < servers.size() ? servers[index] : options.server,
                                          users[index]->token, source_for(options, index)),
                         asio::use_future));
    }
    for (std::size_t offset = 0; offset < opened.size(); ++offset) {
      auto why = opened[offset].get();
      if (!why.empty()) {
        throw std::runtime_error("connection " + std::to_string(start + offset) + " (user " +
                                 std::to_string(users[start + offset]->id) + "): " + why);
      }
    }
  }
  return connections;
}

report::report(std::string workload, const common_options& options)
    : workload_(std::move(workload)), options_(options) {}

void report::finish() {
  std::ostringstream row;
  row << options_.label << " " << workload_;
  for (const auto& [key, value] : figures_) {
    row << " " << std::string(key) << "="
        << (value.is_double() ? fmt::format("{}", value.as_double())
                              : boost::json::serialize(value));
  }
  std::cout << row.str() << std::endl;
  if (options_.json_path.empty()) {
    return;
  }
  const auto now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  boost::json::object out{{"workload", workload_},
                          {"label", options_.label},
                          {"date", date},
                          {"parameters", parameters_},
                          {"figures", figures_}};
  std::ofstream file(options_.json_path);
  file << boost::json::serialize(out) << "\n";
  if (!file) {
    throw std::runtime_error("cannot write " + options_.json_path);
  }
}

std::vector<int> server_meter::server_pids() const {
  std::vector<int> pids;
  if (options_.server_pid > 0) {
    pids.push_back(options_.server_pid);
  }
  pids.insert(pids.end(), options_.more_server_pids.begin(), options_.more_server_pids.end());
  return pids;
}

namespace {

// The counters read from every node's /metrics.
const std::vector<std::string> k_counters = {
    "parley_store_write_batches_total", "parley_store_write_jobs_total",
    "parley_bus_published_total",       "parley_bus_received_total",
    "parley_bus_gap_reads_total",       "parley_push_sent_total",
    "parley_push_skipped_total",
    // The writer's transactions, timed (a histogram: its count, sum and two buckets).
    "parley_store_commit_seconds_count", "parley_store_commit_seconds_sum",
    R"(parley_store_commit_seconds_bucket{le="0.005"})",
    R"(parley_store_commit_seconds_bucket{le="0.025"})",
    // The stored sends, timed in the server (the same).
    "parley_message_send_seconds_count", "parley_message_send_seconds_sum",
    R"(parley_message_send_seconds_bucket{le="0.001"})",
    R"(parley_message_send_seconds_bucket{le="0.005"})",
};

} // namespace

server_meter::counters server_meter::read_counters() const {
  counters out;
  if (!options_.metrics) {
    return out;
  }
  std::vector<server_address> nodes{options_.server};
  if (options_.receiver_server) {
    nodes.push_back(*options_.receiver_server);
  }
  nodes.insert(nodes.end(), options_.more_metrics_servers.begin(),
               options_.more_metrics_servers.end());
  // One read of each node's page for all of them: a histogram's count and buckets then agree.
  std::vector<std::optional<double>> sums(k_counters.size());
  for (const auto& node : nodes) {
    const auto values = scrape_metrics(node, k_counters);
    for (std::size_t index = 0; index < values.size(); ++index) {
      if (values[index]) {
        sums[index] = sums[index].value_or(0) + *values[index];
      }
    }
  }
  for (std::size_t index = 0; index < k_counters.size(); ++index) {
    out[k_counters[index]] = sums[index];
  }
  return out;
}

void server_meter::start() {
  counters_before_ = read_counters();
  before_.clear();
  for (const int pid : server_pids()) {
    before_.push_back(sample_process(pid));
  }
  watched_before_.clear();
  for (const auto& process : options_.watched) {
    watched_before_.push_back(process_tree_cpu_seconds(process.pid));
  }
  own_before_ = own_cpu_seconds();
  started_ns_ = now_ns();
}

void server_meter::stop() {
  wall_seconds_ = static_cast<double>(now_ns() - started_ns_) / 1e9;
  own_after_ = own_cpu_seconds();
  watched_after_.clear();
  for (const auto& process : options_.watched) {
    watched_after_.push_back(process_tree_cpu_seconds(process.pid));
  }
  after_.clear();
  for (const int pid : server_pids()) {
    after_.push_back(sample_process(pid));
  }
  counters_after_ = read_counters();
}

std::vector<double> server_meter::cpu_seconds_by_node() const {
  std::vector<double> out;
  for (std::size_t index = 0; index < before_.size() && index < after_.size(); ++index) {
    if (!before_[index] || !after_[index]) {
      return {};
    }
    out.push_back(after_[index]->cpu_seconds - before_[index]->cpu_seconds);
  }
  return out;
}

std::optional<double> server_meter::cpu_seconds() const {
  const auto nodes = cpu_seconds_by_node();
  if (nodes.empty()) {
    return std::nullopt;
  }
  double sum = 0;
  for (const double value : nodes) {
    sum += value;
  }
  return sum;
}

namespace {

std::optional<double> growth(const std::vector<std::optional<process_sample>>& before,
                             const std::vector<std::optional<process_sample>>& after,
                             std::optional<std::uint64_t> process_sample::*field) {
  if (before.empty() || before.size() != after.size()) {
    return std::nullopt;
  }
  double sum = 0;
  for (std::size_t index = 0; index < before.size(); ++index) {
    if (!before[index] || !after[index] || !((*before[index]).*field) ||
        !((*after[index]).*field)) {
      return std::nullopt;
    }
    sum += static_cast<double>(*((*after[index]).*field)) -
           static_cast<double>(*((*before[index]).*field));
  }
  return sum;
}

} // namespace

std::optional<double> server_meter::disk_write_bytes() const {
  return growth(before_, after_, &process_sample::disk_write_bytes);
}

std::optional<double> server_meter::write_syscalls() const {
  return growth(before_, after_, &process_sample::write_syscalls);
}

std::optional<double> server_meter::read_syscalls() const {
  return growth(before_, after_, &process_sample::read_syscalls);
}

std::optional<std::uint64_t> server_meter::rss_bytes() const {
  if (after_.empty()) {
    return std::nullopt;
  }
  std::uint64_t sum = 0;
  for (const auto& sample : after_) {
    if (!sample) {
      return std::nullopt;
    }
    sum += sample->rss_bytes;
  }
  return sum;
}

std::optional<double> server_meter::counter(const std::string& name) const {
  const auto before = counters_before_.find(name);
  const auto after = counters_after_.find(name);
  if (before == counters_before_.end() || after == counters_after_.end() || !before->second ||
      !after->second) {
    return std::nullopt;
  }
  return *after->second - *before->second;
}

std::optional<double> server_meter::commits() const {
  return counter("parley_store_write_batches_total");
}

std::optional<double> server_meter::write_jobs() const {
  return counter("parley_store_write_jobs_total");
}

std::vector<std::pair<std::string, double>> server_meter::watched_cpu_seconds() const {
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t index = 0; index < options_.watched.size(); ++index) {
    if (index < watched_before_.size() && index < watched_after_.size() && watched_before_[index] &&
        watched_after_[index]) {
      out.emplace_back(options_.watched[index].name,
                       *watched_after_[index] - *watched_before_[index]);
    }
  }
  return out;
}

namespace {

// A histogram of /metrics over the window: its mean in ms as `mean`, and for each (bound, name)
// the observations over that bound, as a count or (`share`) in % of all.
void add_histogram_figures(boost::json::object& figures, const server_meter& meter,
                           const std::string& histogram, const char* mean,
                           std::initializer_list<std::pair<const char*, const char*>> over,
                           bool share) {
  const auto count = meter.counter(histogram + "_count");
  if (!count || *count <= 0) {
    return;
  }
  if (const auto sum = meter.counter(histogram + "_sum")) {
    figures[mean] = rounded(*sum * 1e3 / *count, 3);
  }
  for (const auto& [bound, figure] : over) {
    if (const auto within = meter.counter(histogram + "_bucket{le=\"" + bound + "\"}")) {
      figures[figure] = share ? rounded((*count - *within) * 100 / *count, 3) : *count - *within;
    }
  }
}

} // namespace

void add_server_figures(report& out, const server_meter& meter, double units,
                        const std::string& unit) {
  auto& figures = out.figures();
  if (const auto cpu = meter.cpu_seconds(); cpu && units > 0) {
    figures["server_cpu_us_per_" + unit] = rounded(*cpu * 1e6 / units, 2);
    figures["server_cpu_cores"] = rounded(*cpu / meter.wall_seconds(), 2);
  }
  if (const auto rss = meter.rss_bytes()) {
    figures["server_rss_mib"] = rounded(static_cast<double>(*rss) / (1024.0 * 1024.0), 1);
  }
  if (const auto commits = meter.commits()) {
    figures["commits_per_s"] = rounded(*commits / meter.wall_seconds(), 0);
  }
  // What a unit costs outside the CPU: bytes the server wrote to storage (the database, its
  // journal or WAL, checkpoints), and its read and write system calls of the file layer (the
  // store's files, eventfd wake-ups; not a socket's send and recv).
  if (const auto bytes = meter.disk_write_bytes(); bytes && units > 0) {
    figures["server_disk_bytes_per_" + unit] = rounded(*bytes / units, 0);
  }
  if (const auto calls = meter.write_syscalls(); calls && units > 0) {
    figures["server_write_syscalls_per_" + unit] = rounded(*calls / units, 2);
  }
  if (const auto calls = meter.read_syscalls(); calls && units > 0) {
    figures["server_read_syscalls_per_" + unit] = rounded(*calls / units, 2);
  }
  // How long the writer's transactions took in the window: the mean, and how many took over
  // 5 ms and over 25 ms (a latency tail with none of those did not come from the commits).
  add_histogram_figures(figures, meter, "parley_store_commit_seconds", "store_commit_mean_ms",
                        {{"0.005", "store_commits_over_5ms"}, {"0.025", "store_commits_over_25ms"}},
                        false);
  // How long the stored sends took inside the server, arrival to acknowledgement (the commit
  // included): the mean, and the share (in %) over 1 ms and over 5 ms, to set beside the
  // client's percentiles (what lies beyond is the kernel's, the scheduler's or the client's).
  add_histogram_figures(figures, meter, "parley_message_send_seconds", "server_send_mean_ms",
                        {{"0.001", "server_sends_over_1ms_pct"},
                         {"0.005", "server_sends_over_5ms_pct"}},
                        true);
  if (const auto jobs = meter.write_jobs(); jobs && units > 0) {
    figures["store_writes_per_" + unit] = rounded(*jobs / units, 2);
    if (const auto commits = meter.commits(); commits && *commits > 0) {
      figures["store_jobs_per_commit"] = rounded(*jobs / *commits, 2);
    }
  }
  if (const auto nodes = meter.cpu_seconds_by_node(); nodes.size() > 1 && units > 0) {
    for (std::size_t index = 0; index < nodes.size(); ++index) {
      figures[fmt::format("node{}_cpu_us_per_{}", index + 1, unit)] =
          rounded(nodes[index] * 1e6 / units, 2);
    }
  }
  // Bus traffic: what crossed between nodes (published on one, received on the others) and
  // the database reads a gap in the sequence cost.
  for (const auto& [counter, figure] :
       {std::pair{"parley_bus_published_total", "bus_published_per_"},
        std::pair{"parley_bus_received_total", "bus_received_per_"}}) {
    if (const auto value = meter.counter(counter); value && units > 0) {
      figures[figure + unit] = rounded(*value / units, 2);
    }
  }
  if (const auto gaps = meter.counter("parley_bus_gap_reads_total")) {
    figures["bus_gap_reads"] = *gaps;
  }
  // Web Push (Parley): pushes the push services accepted in the window, and those skipped
  // (over a user's rate or the queue limit); only when there were any.
  const auto pushed = meter.counter("parley_push_sent_total");
  const auto skipped = meter.counter("parley_push_skipped_total");
  if (pushed && skipped && *pushed + *skipped > 0) {
    figures["pushes_per_s"] = rounded(*pushed / meter.wall_seconds(), 0);
    if (units > 0) {
      figures["pushes_per_" + unit] = rounded(*pushed / units, 3);
    }
    figures["pushes_skipped"] = *skipped;
  }
  for (const auto& [name, cpu] : meter.watched_cpu_seconds()) {
    if (units > 0) {
      figures[name + "_cpu_us_per_" + unit] = rounded(cpu * 1e6 / units, 2);
    }
    figures[name + "_cpu_cores"] = rounded(cpu / meter.wall_seconds(), 2);
  }
  figures["generator_cpu_cores"] = rounded(meter.generator_cpu_seconds() / meter.wall_seconds(), 2);
}

double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

} // namespace parley::load
