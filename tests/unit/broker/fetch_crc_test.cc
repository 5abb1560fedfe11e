// Fetch never hands out a batch whose CRC32C fails: a byte flipped in the middle of a sealed
// segment (which recovery does not scan) is answered CORRUPT_MESSAGE, and the batches before and
// after it are still served.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "broker_fixture.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using protocol::ApiKey;
using namespace protocol;

class FetchCrcTest : public BrokerFixture {
 protected:
  // Values of the records a fetch from `offset` returns, and the partition's error code.
  std::vector<std::string> fetch_values(const std::string& topic, int64_t offset, int16_t& error) {
    auto resp = call<FetchResponse>(ApiKey::fetch, 11, fetch_request(topic, 0, offset));
    const auto& rp = resp.responses.at(0).partitions.at(0);
    error = rp.error_code;
    std::vector<std::string> out;
    if (!rp.records.data) return out;
    auto data = *rp.records.data;
    size_t pos = 0;
    while (pos < data.size()) {
      auto size = declared_batch_size(data.subspan(pos));
      if (!size || *size > data.size() - pos) break;
      BatchView batch(data.subspan(pos, *size));
      EXPECT_EQ(batch.crc(), compute_batch_crc(batch.bytes())) << "a damaged batch was served";
      std::vector<std::byte> scratch;
      auto recs = decode_records(batch, scratch);
      EXPECT_TRUE(recs.ok());
      if (recs.ok()) {
        for (auto& r : *recs) out.emplace_back(reinterpret_cast<const char*>(r.value->data()), 4);
      }
      pos += *size;
    }
    return out;
  }
};

TEST_F(FetchCrcTest, ADamagedBatchInASealedSegmentIsNotServed) {
  // Stored as sent (compression.type=producer), so the sizes below are the segment sizes.
  ASSERT_EQ(
      create_topic("scrub", 1, {{"segment.bytes", "1048576"}, {"compression.type", "producer"}})
          .topics.at(0)
          .error_code,
      0);
  // Nine batches of three ~100 KB records: three batches per 1 MiB segment, three segments.
  std::vector<size_t> sizes;
  for (int i = 0; i < 9; ++i) {
    auto b = ferry::test::make_batch(3, "b" + std::to_string(i), 1'700'000'000'000, 100'000);
    sizes.push_back(b.size());
    ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = "scrub";
    t.partition_data.push_back({0, RecordsRef{std::span<const std::byte>(b)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    ASSERT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  }
  ASSERT_GE(broker_->topics().partition("scrub", 0)->log().segment_count(), 3u);
  conns_.clear();
  stop_broker();

  // Flip one byte in the middle of the second batch of the first (sealed) segment.
  const std::string seg = dir_.path() + "/logs/scrub-0/00000000000000000000.log";
  ASSERT_TRUE(std::filesystem::exists(seg));
  const long at = static_cast<long>(sizes[0] + sizes[1] / 2);
  std::FILE* f = std::fopen(seg.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fseek(f, at, SEEK_SET), 0);
  const int old = std::fgetc(f);
  ASSERT_EQ(std::fseek(f, at, SEEK_SET), 0);
  std::fputc(old ^ 0x20, f);
  std::fclose(f);

  start_broker();
  int16_t err = -1;
  // From the start: the intact first batch only, without an error (the next fetch reports it).
  auto values = fetch_values("scrub", 0, err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(values, (std::vector<std::string>{"b0-0", "b0-1", "b0-2"}));
  // From the damaged batch, or inside it: CORRUPT_MESSAGE and no records.
  for (int64_t offset : {3, 4}) {
    EXPECT_TRUE(fetch_values("scrub", offset, err).empty());
    EXPECT_EQ(err, 2) << offset;
  }
  // After it: served.
  values = fetch_values("scrub", 6, err);
  EXPECT_EQ(err, 0);
  ASSERT_FALSE(values.empty());
  EXPECT_EQ(values.front(), "b2-0");
}

}  // namespace
}  // namespace ferry::broker::test
