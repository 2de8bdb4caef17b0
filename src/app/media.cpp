#include "app/media.hpp"

#include "store/open.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace parley::app {

namespace asio = boost::asio;

std::string default_media_store(const config::config& settings) {
  if (is_postgres_url(settings.database)) {
    return settings.database;
  }
  const auto directory = std::filesystem::path(settings.database).parent_path();
  return (directory.empty() ? std::filesystem::path("media") : directory / "media").string();
}

media_parts::media_parts(const config::config& settings, store::database& database) {
  const std::string where =
      settings.media_store.empty() ? default_media_store(settings) : settings.media_store;
  blobs_ = blob::open_blob_store(where);
  spdlog::info("uploads.store where={}", store::redacted(where));
  uploads::options options;
  options.max_upload_bytes = static_cast<std::uint64_t>(settings.max_upload_bytes);
  options.daily_bytes = settings.upload_daily_bytes;
  options.stored_bytes = settings.upload_stored_bytes;
  options.uploads_per_second = settings.upload_rate;
  options.upload_burst = 10.0 * settings.upload_rate;
  options.unattached_ttl = settings.unattached_upload_ttl;
  options.staging = blobs_->staging_directory().value_or(
      std::filesystem::temp_directory_path() / "parley-uploads");
  service_ = std::make_unique<uploads::upload_service>(database, *blobs_, options);
}

void media_parts::start_collector(const asio::any_io_executor& executor) {
  asio::co_spawn(
      executor,
      [this, executor]() -> asio::awaitable<void> {
        asio::steady_timer timer(executor);
        for (;;) {
          try {
            co_await service_->collect(system_clock().now_ms());
          } catch (const std::exception& error) {
            spdlog::warn("uploads.collect_failed error={}", error.what());
          }
          timer.expires_after(std::chrono::minutes(10));
          co_await timer.async_wait(asio::use_awaitable);
        }
      },
      asio::detached);
}

} // namespace parley::app
