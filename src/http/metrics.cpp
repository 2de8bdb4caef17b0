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

// The lines of one histogram: `labels` is empty or `name="value",` (with its comma).
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const common::latency_histogram& values) {
  const auto& bounds = common::latency_histogram::k_bounds;
  for (std::size_t index = 0; index < bounds.size(); ++index) {
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, labels, bounds[index],
                       values.buckets[index]);
  }
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels, values.count);
  std::string_view bare = labels;
  if (bare.ends_with(',')) {
    bare.remove_suffix(1);
  }
  const auto braces = bare.empty() ? std::string() : fmt::format("{{{}}}", bare);
  out += fmt::format("{}_sum{} {}\n", name, braces, values.sum);
  out += fmt::format("{}_count{} {}\n", name, braces, values.count);
}

} // namespace

void metrics::record_request(std::string_view route, std::string_view method, unsigned status,
                             std::chrono::nanoseconds latency) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto found = latency_.find(route);
  if (found == latency_.end()) {
    found = latency_.emplace(std::string(route), histogram{}).first;
  }
  found->second.record(latency);
}

void metrics::add_sampled(std::string name, std::string help, std::string kind,
                          std::function<double()> sample) {
  std::lock_guard lock(mutex_);
  sampled_.push_back({std::move(name), std::move(help), std::move(kind), std::move(sample)});
}

void metrics::add_sampled_histogram(std::string name, std::string help,
                                    std::function<histogram()> sample) {
  std::lock_guard lock(mutex_);
  histograms_.push_back({std::move(name), std::move(help), std::move(sample)});
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
    append_histogram(out, "parley_http_request_duration_seconds",
                     fmt::format("route=\"{}\",", label(route)), values);
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
  for (const auto& entry : histograms_) {
    append(fmt::format("# HELP {} {}\n# TYPE {} histogram\n", entry.name, entry.help, entry.name));
    append_histogram(out, entry.name, "", entry.sample());
  }
  return out;
}

} // namespace parley::http
