#include "http/router.hpp"

namespace parley::http {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    const auto end = path.find('/', start);
    segments.push_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end;
  }
  return segments;
}

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

void router::add(beast_http::verb method, std::string pattern, handler target) {
  add_entry(method, std::move(pattern), std::move(target), {});
}

void router::add_streaming(beast_http::verb method, std::string pattern,
                           streaming_handler target) {
  add_entry(method, std::move(pattern), {}, std::move(target));
}

void router::add_entry(beast_http::verb method, std::string pattern, handler target,
                       streaming_handler streaming) {
  std::vector<std::string> segments;
  for (const auto segment : split(pattern)) {
    segments.emplace_back(segment);
  }
  entries_.push_back({method, std::move(pattern), std::move(segments), std::move(target),
                      std::move(streaming)});
}

router::match router::find(beast_http::verb method, std::string_view path) const {
  match result;
  result.route = "unmatched";
  const auto segments = split(path);
  const auto same_path = [&segments](const entry& candidate) {
    if (candidate.segments.size() != segments.size()) {
      return false;
    }
    for (std::size_t index = 0; index < segments.size(); ++index) {
      const auto& expected = candidate.segments[index];
      if (!is_placeholder(expected) && expected != segments[index]) {
        return false;
      }
    }
    return true;
  };
  // The first route of this path and method (HEAD is answered by the GET handler; the server
  // sends the headers only). Its placeholders only are copied out.
  for (const auto& candidate : entries_) {
    const bool method_matches = candidate.method == method ||
                                (method == beast_http::verb::head &&
                                 candidate.method == beast_http::verb::get);
    if (!method_matches || !same_path(candidate)) {
      continue;
    }
    if (candidate.streaming) {
      result.streaming = &candidate.streaming;
    } else {
      result.target = &candidate.target;
    }
    result.route = candidate.pattern;
    for (std::size_t index = 0; index < segments.size(); ++index) {
      const auto& expected = candidate.segments[index];
      if (is_placeholder(expected)) {
        result.parameters[expected.substr(1, expected.size() - 2)] = std::string(segments[index]);
      }
    }
    return result;
  }
  // None: the methods this path has, for 405 (else 404, or the fallback).
  for (const auto& candidate : entries_) {
    if (same_path(candidate)) {
      if (!result.allowed.empty()) {
        result.allowed += ", ";
      }
      result.allowed += std::string(beast_http::to_string(candidate.method));
    }
  }
  if (!result.allowed.empty()) {
    result.route = "method_not_allowed";
  } else if (fallback_ && (method == beast_http::verb::get || method == beast_http::verb::head)) {
    result.target = &fallback_;
    result.route = fallback_name_;
  }
  return result;
}

void router::set_fallback(std::string name, handler target) {
  fallback_name_ = std::move(name);
  fallback_ = std::move(target);
}

} // namespace parley::http
