// Produce to compacted topics: a batch with a record without a key is refused with
// INVALID_RECORD (as Kafka's LogValidator does), uncompressed or LZ4; keyed batches are stored;
// topics with cleanup.policy=delete still take null keys.
#include <gtest/gtest.h>

#include "broker_fixture.h"
#include "protocol/record_batch.h"

namespace ferry::broker::test {
namespace {

using protocol::ApiKey;
using namespace protocol;

std::vector<std::byte> batch(std::vector<std::optional<std::string>> keys, Compression c) {
  std::vector<RecordInput> in;
  for (const auto& k : keys) {
    in.push_back(
        {k ? std::optional<std::string_view>(*k) : std::nullopt, "v", 1'700'000'000'000, {}});
  }
  BuildOptions o;
  o.compression = c;
  return build_batch(in, o).value();
}

class CompactedProduceTest : public BrokerFixture {
 protected:
  ProduceResponse::Topic::Partition produce(const std::string& topic,
                                            std::vector<std::byte> records) {
    ProduceRequest req;
    req.acks = 1;
    req.timeout_ms = 5000;
    ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back({0, RecordsRef{std::span<const std::byte>(records)}});
    req.topic_data.push_back(t);
    auto resp = call<ProduceResponse>(ApiKey::produce, 8, req);
    if (resp.responses.empty() || resp.responses[0].partition_responses.empty()) return {};
    return resp.responses[0].partition_responses[0];
  }
};

TEST_F(CompactedProduceTest, NullKeysAreRefusedOnlyOnCompactedTopics) {
  ASSERT_EQ(create_topic("state", 1, {{"cleanup.policy", "compact"}}).topics.at(0).error_code, 0);
  ASSERT_EQ(create_topic("both", 1, {{"cleanup.policy", "compact,delete"}}).topics.at(0).error_code,
            0);
  ASSERT_EQ(create_topic("events", 1).topics.at(0).error_code, 0);
  for (Compression c : {Compression::none, Compression::lz4}) {
    for (const char* topic : {"state", "both"}) {
      auto r = produce(topic, batch({"a", std::nullopt, "c"}, c));
      EXPECT_EQ(r.error_code, 87) << topic << " " << compression_name(c);  // INVALID_RECORD
      EXPECT_EQ(r.base_offset, -1);
      auto ok = produce(topic, batch({"a", "b"}, c));
      EXPECT_EQ(ok.error_code, 0) << topic;
    }
    EXPECT_EQ(produce("events", batch({std::nullopt}, c)).error_code, 0);
  }
}

}  // namespace
}  // namespace ferry::broker::test
