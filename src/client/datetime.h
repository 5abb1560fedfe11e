// ISO-8601 date-times as accepted by `ferry groups --reset-offsets --to-datetime`, the forms
// Kafka's kafka-consumer-groups.sh accepts and a few shorter ones:
//
//   2024-05-01                         midnight
//   2024-05-01T12:30  2024-05-01T12:30:15  2024-05-01T12:30:15.250
//   any of the above with a zone: Z, +02:00, -0530, +02
//
// Without a zone the time is local time, as in Kafka's tool. A space may stand for the 'T'.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace ferry::client {

// Milliseconds since the Unix epoch; Errc::invalid_argument naming what is wrong.
Result<int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace ferry::client
