// What the broker counts for the admin listener's /metrics and /v1/status: records and bytes in
// (produce) and out (fetch) per topic, and per API the requests, their latency (from dispatch
// to the moment the handler let go of the request, i.e. after its response was handed to the
// connection) and the error codes answered. Plain counters, loop thread only, no locks.
//
// A RequestTimer rides along in each dispatched Request (request.h); its destructor records the
// latency. It holds the metrics through a shared_ptr, so a request outliving the broker is
// harmless.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "common/histogram.h"

namespace ferry::broker {

struct TopicTraffic {
  uint64_t records_in = 0;
  uint64_t bytes_in = 0;
  uint64_t records_out = 0;
  uint64_t bytes_out = 0;
};

struct ApiStats {
  uint64_t requests = 0;
  std::map<int16_t, uint64_t> errors;  // Kafka error code -> responses or partitions with it
  Histogram latency;
};

struct BrokerMetrics {
  std::map<std::string, TopicTraffic, std::less<>> topics;
  std::map<int16_t, ApiStats> apis;  // by API key
  // Requests refused before a handler saw them (unreadable header, unknown key or version):
  // their connection is closed.
  uint64_t requests_refused = 0;

  TopicTraffic& topic(std::string_view name);
};

class RequestTimer {
 public:
  RequestTimer(std::shared_ptr<BrokerMetrics> metrics, int16_t api_key, uint64_t start_ns);
  ~RequestTimer();
  RequestTimer(const RequestTimer&) = delete;
  RequestTimer& operator=(const RequestTimer&) = delete;
  // Counts an error code answered (0 is not counted).
  void error(int16_t code);

 private:
  std::shared_ptr<BrokerMetrics> metrics_;
  int16_t api_key_;
  uint64_t start_ns_;
};

// Records in the v2 record batches of `records` (message sets of older magics count 0).
uint64_t count_records(std::span<const std::byte> records);

}  // namespace ferry::broker
