#pragma once
// The store's figures on /metrics: jobs, batches, where reads ran, checkpoints.

#include "http/metrics.hpp"
#include "store/database.hpp"

namespace parley::app {

/// Adds the store's counters, read from `database` at each scrape (it must outlive `counters`'
/// last scrape).
void add_store_metrics(http::metrics& counters, store::database& database);

} // namespace parley::app
