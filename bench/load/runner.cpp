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
                                        const std::vector<const user*>& users) {
  std::vector<connection_ptr> connections;
  connections.reserve(users.size());
  const std::size_t wave = std::max(1U, options.connect_concurrency);
  for (std::size_t start = 0; start < users.size(); start += wave) {
    std::vector<std::future<std::string>> opened;
    for (std::size_t index = start; index < std::min(users.size(), start + wave); ++index) {
      auto& context = pool.context(index);
      auto connection = std::make_shared<sio_connection>(context);
      connections.push_back(connection);
      opened.push_back(asio::co_spawn(
          context,
          connection->open(options.server, users[index]->token, source_for(options, index)),
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

void server_meter::start() {
  if (options_.metrics) {
    commits_before_ = scrape_metric(options_.server, "parley_store_write_batches_total");
    jobs_before_ = scrape_metric(options_.server, "parley_store_write_jobs_total");
  }
  before_ = sample_process(options_.server_pid);
  own_before_ = own_cpu_seconds();
  started_ns_ = now_ns();
}

void server_meter::stop() {
  wall_seconds_ = static_cast<double>(now_ns() - started_ns_) / 1e9;
  own_after_ = own_cpu_seconds();
  after_ = sample_process(options_.server_pid);
  if (options_.metrics) {
    commits_after_ = scrape_metric(options_.server, "parley_store_write_batches_total");
    jobs_after_ = scrape_metric(options_.server, "parley_store_write_jobs_total");
  }
}

std::optional<double> server_meter::cpu_seconds() const {
  if (!before_ || !after_) {
    return std::nullopt;
  }
  return after_->cpu_seconds - before_->cpu_seconds;
}

std::optional<std::uint64_t> server_meter::rss_bytes() const {
  if (!after_) {
    return std::nullopt;
  }
  return after_->rss_bytes;
}

std::optional<double> server_meter::commits() const {
  if (!commits_before_ || !commits_after_) {
    return std::nullopt;
  }
  return *commits_after_ - *commits_before_;
}

std::optional<double> server_meter::write_jobs() const {
  if (!jobs_before_ || !jobs_after_) {
    return std::nullopt;
  }
  return *jobs_after_ - *jobs_before_;
}

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
  if (const auto jobs = meter.write_jobs(); jobs && units > 0) {
    figures["store_writes_per_" + unit] = rounded(*jobs / units, 2);
  }
  figures["generator_cpu_cores"] = rounded(meter.generator_cpu_seconds() / meter.wall_seconds(), 2);
}

double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

} // namespace parley::load
