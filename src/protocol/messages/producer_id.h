// InitProducerId (key 22). Allocates a producer id and
// epoch for an idempotent (transactional_id null) or transactional producer. From v3 a producer
// that already has an id sends it with its epoch to get the epoch bumped (KIP-360); v4 only
// lets the broker answer PRODUCER_FENCED.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/schema.h"

namespace ferry::protocol {

struct InitProducerIdRequest {
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;
  int64_t producer_id = -1;     // v3+
  int16_t producer_epoch = -1;  // v3+

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.transactional_id, all);
    v(m.transaction_timeout_ms, all);
    v(m.producer_id, since(3));
    v(m.producer_epoch, since(3));
  }
  bool operator==(const InitProducerIdRequest&) const = default;
};

struct InitProducerIdResponse {
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;

  template <class V, class M>
  static void fields(V& v, M& m) {
    v(m.throttle_time_ms, all);
    v(m.error_code, all);
    v(m.producer_id, all);
    v(m.producer_epoch, all);
  }
  bool operator==(const InitProducerIdResponse&) const = default;
};

}  // namespace ferry::protocol
