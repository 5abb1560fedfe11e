// The fixture of the client tests that run against an in-process ferry broker on the test's loop:
// group rebalances start at once, topics exist only once created, and records are produced with
// raw Produce requests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/record_batch.h"
#include "unit/broker/broker_fixture.h"

namespace ferry::client::test {

class BrokerClientTest : public broker::test::BrokerFixture {
 protected:
  void configure(config::BrokerConfig& cfg) override {
    cfg.group_initial_rebalance_delay_ms = 0;
    cfg.auto_create_topics = false;
  }
  void TearDown() override {
    close_clients();
    BrokerFixture::TearDown();
  }
  // Closes and drops the test's clients; runs before the broker stops.
  virtual void close_clients() {}

  // Creates `name` with `partitions` partitions; the test fails unless the broker did.
  void create_topic(const std::string& name, int32_t partitions) {
    protocol::CreateTopicsRequest req;
    protocol::CreateTopicsRequest::Topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    req.topics.push_back(t);
    req.timeout_ms = 5000;
    auto resp = call<protocol::CreateTopicsResponse>(protocol::ApiKey::create_topics, 4, req);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].error_code, 0);
  }

  // Appends `records` as one uncompressed batch to topic/partition (acks=all); the test fails
  // unless the broker took it.
  void produce_records(const std::string& topic, int32_t partition,
                       const std::vector<protocol::RecordInput>& records) {
    auto batch = protocol::build_batch(records, {});
    ASSERT_TRUE(batch.ok());
    protocol::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 5000;
    protocol::ProduceRequest::Topic t;
    t.name = topic;
    t.partition_data.push_back(
        {partition, protocol::RecordsRef{std::span<const std::byte>(*batch)}});
    req.topic_data.push_back(t);
    auto resp = call<protocol::ProduceResponse>(protocol::ApiKey::produce, 8, req);
    ASSERT_EQ(resp.responses.size(), 1u);
    ASSERT_EQ(resp.responses[0].partition_responses.at(0).error_code, 0);
  }
};

}  // namespace ferry::client::test
