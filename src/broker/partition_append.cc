// append_partition: Produce's per-partition write path. See partition_append.h.
#include "broker/partition_append.h"

#include <memory>
#include <vector>

#include "broker/broker.h"
#include "common/log.h"
#include "platform/crc32c.h"
#include "protocol/legacy_message_set.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

namespace bl = protocol::batch_layout;
using protocol::BatchView;
using protocol::Compression;

// Marks a batch as LogAppendTime with `now_ms` as its max timestamp, as Kafka's broker does for
// topics with message.timestamp.type=LogAppendTime, and recomputes the CRC.
void stamp_log_append_time(std::span<std::byte> batch, int64_t now_ms) {
  const uint16_t attrs = load_be16(batch.data() + bl::kAttributes);
  store_be16(batch.data() + bl::kAttributes,
             static_cast<uint16_t>(attrs | protocol::batch_attr::kTimestampTypeLogAppend));
  store_i64(batch.data() + bl::kMaxTimestamp, now_ms);
  store_be32(batch.data() + bl::kCrc, protocol::compute_batch_crc(batch));
}

// Splits `records` into complete v2 batches; fails on a partial or malformed frame.
KafkaError split_batches(std::span<std::byte> records, std::vector<std::span<std::byte>>& out) {
  size_t pos = 0;
  while (pos < records.size()) {
    auto size = protocol::declared_batch_size(records.subspan(pos));
    if (!size || *size > records.size() - pos) {
      return {ErrorCode::corrupt_message, "truncated or malformed record batch"};
    }
    out.push_back(records.subspan(pos, *size));
    pos += *size;
  }
  return {};
}

}  // namespace

void append_partition(Broker& broker, const std::string& topic, int32_t partition,
                      std::span<std::byte> records, int16_t produce_version, bool durable,
                      std::function<void(AppendOutcome)> done) {
  auto fail = [&](KafkaError e) {
    AppendOutcome o;
    o.error = std::move(e);
    done(std::move(o));
  };
  Topic* t = broker.topics().find(topic);
  auto log = broker.topics().partition(topic, partition);
  if (log == nullptr) {
    if (t == nullptr) broker.topics().auto_create(topic);
    fail(
        {ErrorCode::unknown_topic_or_partition, "This server does not host this topic-partition."});
    return;
  }
  if (records.size() <= bl::kMagic) {
    fail({ErrorCode::invalid_record, "produce request without a complete record batch"});
    return;
  }
  const int64_t now_ms = broker.clock().now_ms();
  const auto magic = static_cast<int8_t>(records[bl::kMagic]);
  std::vector<std::byte> converted;  // a legacy message set turned into one v2 batch
  std::vector<std::span<std::byte>> batches;
  if (magic < protocol::kMagicV2) {
    if (produce_version >= 3) {
      fail({ErrorCode::invalid_record,
            "Produce v3 and later must carry record batches (magic 2), not magic " +
                std::to_string(magic)});
      return;
    }
    auto up = protocol::upconvert_message_set(records, now_ms);
    if (!up) {
      fail({up.error().code() == Errc::unsupported ? ErrorCode::unsupported_compression_type
                                                   : ErrorCode::corrupt_message,
            up.error().message()});
      return;
    }
    converted = std::move(up->batch);
    batches.emplace_back(converted);
  } else if (magic == protocol::kMagicV2) {
    if (auto e = split_batches(records, batches); !e.ok()) {
      fail(std::move(e));
      return;
    }
    if (produce_version >= 3 && batches.size() != 1) {
      fail({ErrorCode::invalid_record,
            "Produce v3 and later must carry exactly one record batch per partition"});
      return;
    }
  } else {
    fail({ErrorCode::corrupt_message, "unknown record format magic " + std::to_string(magic)});
    return;
  }

  const auto& settings = t->settings;
  for (auto b : batches) {
    const BatchView view(b);
    if (view.is_control() || view.is_transactional()) {
      fail({ErrorCode::invalid_record, "transactional and control batches are not supported"});
      return;
    }
    if (view.compression() == Compression::zstd && produce_version < 7) {
      fail({ErrorCode::unsupported_compression_type, "zstd needs Produce v7 or later"});
      return;
    }
    if (b.size() > static_cast<size_t>(settings.max_message_bytes)) {
      fail({ErrorCode::message_too_large, "The batch of " + std::to_string(b.size()) +
                                              " bytes exceeds max.message.bytes (" +
                                              std::to_string(settings.max_message_bytes) + ")"});
      return;
    }
  }

  AppendOutcome outcome;
  for (size_t i = 0; i < batches.size(); ++i) {
    auto b = batches[i];
    const BatchView view(b);
    ProducerRegistry::Partition* producers = nullptr;
    ProducerBatch producer;
    if (view.producer_id().value() >= 0) {
      producer = {view.producer_id().value(), view.producer_epoch(), view.base_sequence(),
                  view.last_offset_delta()};
      producers = &broker.producers().partition(topic, partition, log);
      auto check =
          producers->producers.check(producer, broker.producers().issued(producer.producer_id));
      if (!check.error.ok()) {
        FERRY_LOG(info, "produce", "%s-%d: refused a batch: %s", topic.c_str(), partition,
                  check.error.message.c_str());
        fail(std::move(check.error));
        return;
      }
      if (check.duplicate) {
        // A retry of a batch already stored (its response was lost): answer as the first time.
        FERRY_LOG(info, "produce",
                  "%s-%d: duplicate batch from producer %lld (epoch %d, sequence %d..%d) "
                  "answered with its offset %lld",
                  topic.c_str(), partition, static_cast<long long>(producer.producer_id),
                  producer.epoch, producer.base_sequence, producer.last_sequence(),
                  static_cast<long long>(check.duplicate->first_offset.value()));
        if (i == 0) outcome.base_offset = check.duplicate->first_offset;
        if (settings.log_append_time) outcome.log_append_time_ms = check.duplicate->timestamp_ms;
        continue;
      }
    }
    if (settings.log_append_time) {
      stamp_log_append_time(b, now_ms);
      outcome.log_append_time_ms = now_ms;
    }
    auto info = log->append(b);
    if (!info) {
      // Earlier batches of this request (Produce v0-2 only) stay appended, as in Kafka.
      fail(to_kafka_error(info.error()));
      return;
    }
    if (i == 0) outcome.base_offset = info->base_offset;
    if (producers != nullptr) {
      producers->producers.record(producer, info->base_offset, info->last_offset,
                                  info->max_timestamp, now_ms);
      broker.producers().appended(topic, partition, *producers);
    }
    broker.fetch_waiters().notify(topic, partition, info->stored_bytes);
  }
  outcome.log_start_offset = log->log_start_offset();
  if (!durable) {
    done(std::move(outcome));
    return;
  }
  // Durable once everything up to the last offset is on disk (the log fires in offset order).
  log->flush([outcome, done = std::move(done)](Status st) mutable {
    if (!st) outcome.error = to_kafka_error(st.error());
    done(std::move(outcome));
  });
}

}  // namespace ferry::broker
