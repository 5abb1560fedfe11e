// The produce-side rule of compacted topics: every record needs a key (Kafka's LogValidator
// refuses a batch with a null key on a topic whose cleanup.policy includes compact, with
// INVALID_RECORD). Pure, any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "broker/kafka_error.h"

namespace ferry::broker {

// INVALID_RECORD when a record of `batch` (a complete v2 batch that passed validation) has a null
// key; no error otherwise, and for batches ferry cannot decode (zstd), which are stored as sent.
KafkaError check_compacted_keys(std::span<const std::byte> batch, const std::string& topic,
                                int32_t partition);

}  // namespace ferry::broker
