// protocol::KafkaError, the one error value of the broker and the client, and the client's one
// leader-error classification.
#include "protocol/kafka_error.h"

#include <gtest/gtest.h>

#include "broker/kafka_error.h"
#include "client/client.h"
#include "client/kafka_error.h"

namespace ferry {
namespace {

using protocol::ErrorCode;
using protocol::KafkaError;

TEST(KafkaError, ADefaultOneIsNoError) {
  const KafkaError e;
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(e.code(), ErrorCode::none);
  EXPECT_EQ(e.wire(), 0);
  EXPECT_FALSE(e.wire_message().has_value());
}

// The broker's handlers build errors from a code, with or without a message; an empty message
// must go out as a null ErrorMessage, not as the code's default text.
TEST(KafkaError, TheBrokersImplicitConstructionKeepsTheMessageAsGiven) {
  const KafkaError bare = ErrorCode::invalid_topic_exception;
  EXPECT_FALSE(bare.ok());
  EXPECT_EQ(bare.wire(), 17);
  EXPECT_FALSE(bare.wire_message().has_value());
  EXPECT_FALSE(bare.from_broker());
  const KafkaError with = {ErrorCode::invalid_config, "retention.ms: not a number"};
  EXPECT_EQ(with.wire_message(), "retention.ms: not a number");
  EXPECT_EQ(with.to_string(), "INVALID_CONFIG: retention.ms: not a number");
}

TEST(KafkaError, ABrokersAnswerTakesTheDefaultTextAndIsMarked) {
  const auto e = KafkaError::broker(int16_t{15});
  EXPECT_EQ(e.code(), ErrorCode::coordinator_not_available);
  EXPECT_TRUE(e.from_broker());
  EXPECT_TRUE(e.retriable());
  EXPECT_EQ(e.name(), "COORDINATOR_NOT_AVAILABLE");
  EXPECT_FALSE(e.message().empty());
  const auto local = KafkaError::local(ErrorCode::network_exception, "connection refused");
  EXPECT_FALSE(local.from_broker());
  EXPECT_EQ(local.to_string(), "NETWORK_EXCEPTION: connection refused");
}

// One class: the broker's and the client's names are the same type.
TEST(KafkaError, TheBrokerAndTheClientShareTheType) {
  static_assert(std::is_same_v<broker::KafkaError, client::KafkaError>);
  const client::KafkaError e = broker::to_kafka_error(Error(Errc::no_space, "disk full"));
  EXPECT_EQ(e.code(), ErrorCode::kafka_storage_error);
  EXPECT_EQ(e.message(), "disk full");
}

TEST(LeaderErrors, OneClassificationForProducerAndConsumer) {
  for (auto c : {ErrorCode::not_leader_or_follower, ErrorCode::leader_not_available,
                 ErrorCode::unknown_topic_or_partition, ErrorCode::replica_not_available,
                 ErrorCode::fenced_leader_epoch, ErrorCode::unknown_leader_epoch,
                 ErrorCode::kafka_storage_error, ErrorCode::offset_not_available}) {
    EXPECT_TRUE(client::Client::is_leader_error(c)) << protocol::error_name(c);
  }
  for (auto c : {ErrorCode::none, ErrorCode::offset_out_of_range, ErrorCode::not_coordinator,
                 ErrorCode::request_timed_out, ErrorCode::corrupt_message}) {
    EXPECT_FALSE(client::Client::is_leader_error(c)) << protocol::error_name(c);
  }
}

}  // namespace
}  // namespace ferry
