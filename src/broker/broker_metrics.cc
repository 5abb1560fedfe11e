// The broker's counters for /metrics. See broker_metrics.h.
#include "broker/broker_metrics.h"

#include <uv.h>

#include "common/bytes.h"

namespace ferry::broker {

TopicTraffic& BrokerMetrics::topic(std::string_view name) {
  auto it = topics.find(name);
  if (it == topics.end()) it = topics.emplace(std::string(name), TopicTraffic{}).first;
  return it->second;
}

RequestTimer::RequestTimer(std::shared_ptr<BrokerMetrics> metrics, int16_t api_key,
                           uint64_t start_ns)
    : metrics_(std::move(metrics)), api_key_(api_key), start_ns_(start_ns) {
  ++metrics_->apis[api_key_].requests;
}

RequestTimer::~RequestTimer() {
  metrics_->apis[api_key_].latency.observe_ns(uv_hrtime() - start_ns_);
}

void RequestTimer::error(int16_t code) {
  if (code != 0) ++metrics_->apis[api_key_].errors[code];
}

uint64_t count_records(std::span<const std::byte> records) {
  // Batch header: baseOffset int64, batchLength int32 (bytes after this field), ..., magic int8
  // at byte 16, ..., recordsCount int32 at byte 57 (61 bytes in all).
  uint64_t n = 0;
  size_t at = 0;
  while (records.size() - at >= 61) {
    const auto length = load_i32(records.data() + at + 8);
    if (length < 49) break;
    const size_t whole = 12 + static_cast<size_t>(length);
    if (records.size() - at < whole) break;
    if (static_cast<int8_t>(records[at + 16]) == 2) {
      const auto count = load_i32(records.data() + at + 57);
      if (count > 0) n += static_cast<uint64_t>(count);
    }
    at += whole;
  }
  return n;
}

}  // namespace ferry::broker
