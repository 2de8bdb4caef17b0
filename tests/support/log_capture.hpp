#pragma once
// A capture of what the code under test logs.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace parley::testing {

/// Sends everything logged through spdlog's default logger to a string while alive.
class log_capture {
public:
  log_capture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", std::move(sink));
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  ~log_capture() { spdlog::set_default_logger(previous_); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// What was logged so far. Call when no other thread is logging.
  [[nodiscard]] std::string text() const {
    spdlog::default_logger()->flush();
    return stream_.str();
  }

private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

} // namespace parley::testing
