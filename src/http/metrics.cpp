#include "http/metrics.hpp"

#include <fmt/format.h>

namespace parley::http {
namespace {

// Label values are route patterns and methods, but escape them anyway.
std::string label(std::string_view value) {
  std::string result;
  for (const char character : value) {
    if (character == '\\' || character == '"') {
      result.push_back('\\');
    }
    if (character == '\n') {
      result += "\\n";
      continue;
    }
    result.push_back(character);
  }
  return result;
}

} // namespace

void metrics::record_request(std::string_view route, std::string_view method, unsigned status,
                             std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto found = latency_.find(route);
  if (found == latency_.end()) {
    found = latency_.emplace(std::string(route), histogram{}).first;
  }
  auto& target = found->second;
  for (std::size_t index = 0; index < k_buckets.size(); ++index) {
    if (seconds <= k_buckets[index]) {
      ++target.buckets[index];
    }
  }
  ++target.count;
  target.sum += seconds;
}

void metrics::add_sampled(std::string name, std::string help, std::string kind,
                          std::function<double()> sample) {
  std::lock_guard lock(mutex_);
  sampled_.push_back({std::move(name), std::move(help), std::move(kind), std::move(sample)});
}

void metrics::add_sampled_family(std::string name, std::string help, std::string kind,
                                 std::string label_name, std::function<labelled_values()> sample) {
  std::lock_guard lock(mutex_);
  families_.push_back({std::move(name), std::move(help), std::move(kind), std::move(label_name),
                       std::move(sample)});
}

std::string metrics::render() const {
  std::string out;
  auto append = [&out](std::string_view text) { out.append(text); };
  std::lock_guard lock(mutex_);
  append("# HELP parley_http_requests_total HTTP requests answered, by route, method and status.\n"
         "# TYPE parley_http_requests_total counter\n");
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    append(fmt::format("parley_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       label(route), label(method), status, count));
  }
  append("# HELP parley_http_request_duration_seconds Time from a complete request to its "
         "response, by route.\n"
         "# TYPE parley_http_request_duration_seconds histogram\n");
  for (const auto& [route, values] : latency_) {
    for (std::size_t index = 0; index < k_buckets.size(); ++index) {
      append(fmt::format("parley_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         label(route), k_buckets[index], values.buckets[index]));
    }
    append(fmt::format("parley_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       label(route), values.count));
    append(fmt::format("parley_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label(route),
                       values.sum));
    append(fmt::format("parley_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                       label(route), values.count));
  }
  append("# HELP parley_http_open_connections HTTP connections open now.\n"
         "# TYPE parley_http_open_connections gauge\n");
  append(fmt::format("parley_http_open_connections {}\n", open_connections()));
  for (const auto& entry : sampled_) {
    append(fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", entry.name, entry.help, entry.name,
                       entry.kind, entry.name, entry.sample()));
  }
  for (const auto& family : families_) {
    append(fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                       family.kind));
    for (const auto& [value, count] : family.sample()) {
      append(fmt::format("{}{{{}=\"{}\"}} {}\n", family.name, family.label_name, label(value),
                         count));
    }
  }
  return out;
}

} // namespace parley::http
