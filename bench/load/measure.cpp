#include "measure.hpp"

#include "http_client.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace parley::load {

std::optional<process_sample> sample_process(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) {
    return std::nullopt;
  }
  // Fields after the command name (which may hold spaces, inside parentheses): utime is the
  // 14th field and stime the 15th, counted from 1 over the whole line.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int index = 3; index <= 15 && rest >> field; ++index) {
    if (index == 14) {
      utime = std::stod(field);
    } else if (index == 15) {
      stime = std::stod(field);
    }
  }
  process_sample sample;
  sample.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      sample.rss_bytes = std::stoull(line.substr(6)) * 1024;
      break;
    }
  }
  return sample;
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<double> scrape_metric(const server_address& server, const std::string& name) {
  const auto answer = http_request(server, boost::beast::http::verb::get, "/metrics");
  if (answer.status != 200) {
    return std::nullopt;
  }
  std::istringstream lines(answer.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(name + " ")) {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

void latencies::merge(const latencies& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = false;
}

double latencies::quantile(double q) {
  if (samples_.empty()) {
    return 0;
  }
  if (!sorted_) {
    std::ranges::sort(samples_);
    sorted_ = true;
  }
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_.size())));
  return samples_[std::clamp<std::size_t>(rank, 1, samples_.size()) - 1];
}

} // namespace parley::load
