// Helpers shared by the record batch tests: CRC refresh, decoding and record comparison.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "platform/crc32c.h"
#include "protocol/record_batch.h"

namespace ferry::protocol::testing {

// Recomputes the CRC of a (possibly tampered) batch with the portable CRC32C, so a test can
// reach the checks behind the CRC.
inline void refresh_crc(std::vector<std::byte>& b) {
  store_be32(b.data() + batch_layout::kCrc,
             platform::crc32c_software(0, b.data() + batch_layout::kAttributes,
                                       b.size() - batch_layout::kAttributes));
}

// Sets batchLength to match the vector's size and refreshes the CRC.
inline void refresh_length_and_crc(std::vector<std::byte>& b) {
  store_i32(b.data() + batch_layout::kBatchLength,
            static_cast<int32_t>(b.size() - batch_layout::kLogOverhead));
  refresh_crc(b);
}

// The error class of a Status or Result, Errc::ok on success (never aborts on a success).
template <typename T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

inline std::optional<std::string> str(const std::optional<std::span<const std::byte>>& s) {
  if (!s) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(s->data()), s->size());
}
inline std::string str(std::span<const std::byte> s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}
inline std::optional<std::string> str(const std::optional<std::string_view>& s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

// Checks that `batch` decodes to exactly `in`: fields, offset deltas 0..n-1 and timestamps.
inline void expect_records_equal(const std::vector<std::byte>& batch,
                                 const std::vector<RecordInput>& in) {
  BatchView view(batch);
  std::vector<std::byte> scratch;
  auto recs = decode_records(view, scratch);
  ASSERT_TRUE(recs.ok()) << recs.error().to_string();
  ASSERT_EQ(recs->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const Record& r = (*recs)[i];
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(r.attributes, 0);
    EXPECT_EQ(r.offset_delta, static_cast<int32_t>(i));
    EXPECT_EQ(view.base_timestamp() + r.timestamp_delta, in[i].timestamp_ms);
    EXPECT_EQ(str(r.key), str(in[i].key));
    EXPECT_EQ(str(r.value), str(in[i].value));
    ASSERT_EQ(r.headers.size(), in[i].headers.size());
    for (size_t h = 0; h < r.headers.size(); ++h) {
      EXPECT_EQ(str(r.headers[h].key), std::string(in[i].headers[h].first));
      EXPECT_EQ(str(r.headers[h].value), str(in[i].headers[h].second));
    }
  }
}

}  // namespace ferry::protocol::testing
