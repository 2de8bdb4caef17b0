#pragma once
// The uploads' parts as the server runs them: the blob store chosen by configuration, the
// upload service, and its collector every ten minutes.

#include "config/config.hpp"
#include "uploads/upload_service.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace parley::app {

/// Where the bytes go when --media-store is not given: beside a SQLite database
/// (<its directory>/media), or in the PostgreSQL database itself.
[[nodiscard]] std::string default_media_store(const config::config& settings);

class media_parts {
public:
  media_parts(const config::config& settings, store::database& database);
  [[nodiscard]] uploads::upload_service& service() { return *service_; }
  /// Runs the collector on `executor` now and then every ten minutes, until the executor stops.
  void start_collector(const boost::asio::any_io_executor& executor);

private:
  std::unique_ptr<blob::blob_store> blobs_;
  std::unique_ptr<uploads::upload_service> service_;
};

} // namespace parley::app
