#include "measure.hpp"

#include "http_client.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

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
  std::ifstream io(base + "/io"); // readable by the process's owner (or root)
  while (std::getline(io, line)) {
    if (line.starts_with("write_bytes: ")) {
      sample.disk_write_bytes = std::stoull(line.substr(13));
    } else if (line.starts_with("syscw: ")) {
      sample.write_syscalls = std::stoull(line.substr(7));
    } else if (line.starts_with("syscr: ")) {
      sample.read_syscalls = std::stoull(line.substr(7));
    }
  }
  return sample;
}

namespace {

// One process's line of /proc/PID/stat: its parent, and its own and its reaped children's CPU
// time in clock ticks.
struct stat_line {
  int ppid = 0;
  double own_ticks = 0;
  double children_ticks = 0;
};

std::optional<stat_line> read_stat(const std::string& path) {
  std::ifstream file(path);
  std::string stat;
  if (!std::getline(file, stat)) {
    return std::nullopt;
  }
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) {
    return std::nullopt;
  }
  // From field 3 (state) on: ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  stat_line line;
  for (int index = 3; index <= 17 && rest >> field; ++index) {
    if (index == 4) {
      line.ppid = std::stoi(field);
    } else if (index == 14 || index == 15) {
      line.own_ticks += std::stod(field);
    } else if (index == 16 || index == 17) {
      line.children_ticks += std::stod(field);
    }
  }
  return line;
}

} // namespace

std::optional<double> process_tree_cpu_seconds(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  std::map<int, stat_line> all;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || !std::ranges::all_of(name, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    if (auto line = read_stat(entry.path().string() + "/stat")) {
      all.emplace(std::stoi(name), *line);
    }
  }
  if (!all.contains(pid)) {
    return std::nullopt;
  }
  std::multimap<int, int> children;
  for (const auto& [child, line] : all) {
    children.emplace(line.ppid, child);
  }
  double ticks = 0;
  std::vector<int> pending{pid};
  while (!pending.empty()) {
    const int next = pending.back();
    pending.pop_back();
    const auto& line = all.at(next);
    ticks += line.own_ticks + line.children_ticks;
    const auto [first, last] = children.equal_range(next);
    for (auto child = first; child != last; ++child) {
      pending.push_back(child->second);
    }
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<std::optional<double>> scrape_metrics(const server_address& server,
                                                  const std::vector<std::string>& names) {
  std::vector<std::optional<double>> values(names.size());
  const auto answer = http_request(server, boost::beast::http::verb::get, "/metrics");
  if (answer.status != 200) {
    return values;
  }
  std::istringstream lines(answer.body);
  std::string line;
  while (std::getline(lines, line)) {
    for (std::size_t index = 0; index < names.size(); ++index) {
      if (line.starts_with(names[index] + " ")) {
        values[index] = std::stod(line.substr(names[index].size() + 1));
      }
    }
  }
  return values;
}

std::optional<double> scrape_metric(const server_address& server, const std::string& name) {
  return scrape_metrics(server, {name}).front();
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
