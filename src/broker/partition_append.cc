// append_partition: Produce's per-partition write path. See partition_append.h.
#include "broker/partition_append.h"

#include <uv.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "broker/broker.h"
#include "common/log.h"
#include "protocol/batch_validator.h"
#include "protocol/legacy_message_set.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

namespace bl = protocol::batch_layout;
using protocol::BatchCheck;
using protocol::BatchFault;
using protocol::BatchView;
using protocol::Compression;

// Compressed bytes in one partition's batches from which their records are checked on libuv's
// thread pool instead of the loop (docs/benchmarks.md has the cost per codec and size).
constexpr size_t kOffLoopBytes = 32u << 10;

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

// The Kafka error for a validation fault (docs/protocol.md, "Produce validation").
KafkaError fault_error(const BatchCheck& c) {
  switch (c.fault) {
    case BatchFault::none: return {};
    case BatchFault::corrupt: return {ErrorCode::corrupt_message, c.reason};
    case BatchFault::invalid_record: return {ErrorCode::invalid_record, c.reason};
    case BatchFault::too_large: return {ErrorCode::message_too_large, c.reason};
    case BatchFault::unsupported_codec: return {ErrorCode::unsupported_compression_type, c.reason};
  }
  return {ErrorCode::unknown_server_error, c.reason};
}

}  // namespace

// One partition's share of a Produce request between validation and the write. The batches view
// the request frame (kept alive by `done`, which holds the request) or `converted`.
struct PendingAppend {
  uv_work_t req{};
  Broker* broker = nullptr;
  std::string topic;
  int32_t partition = 0;
  std::shared_ptr<storage::Log> log;
  std::vector<std::byte> converted;  // a legacy message set turned into one v2 batch
  std::vector<std::span<std::byte>> batches;
  bool legacy = false;  // `converted` was built here from checked legacy messages
  bool durable = false;
  int64_t now_ms = 0;
  protocol::ProducedBatchLimits limits;
  std::function<void(AppendOutcome)> done;
  bool checked = false;  // the records check below has completed
  KafkaError error;      // its outcome

  // The records checks that may run off the loop: compressed records, and for several batches
  // (Produce v0-2) every batch in full, so that none is stored when a later one is bad. A single
  // uncompressed batch is walked by Log::append. Any thread; touches only this object's bytes.
  void check_records() {
    if (legacy) return;
    for (auto b : batches) {
      const BatchCheck c = batches.size() > 1 ? protocol::validate_produced_batch(b, limits)
                                              : protocol::validate_compressed_records(b, limits);
      if (!c.ok()) {
        error = fault_error(c);
        return;
      }
    }
  }
};

namespace {

void write_checked(PendingAppend& p);

// Writes the checked appends at the front of `log`'s queue.
void drain(Broker& broker, const storage::Log* log) {
  auto& queues = broker.append_queues().by_log;
  for (;;) {
    auto it = queues.find(log);
    if (it == queues.end()) return;
    if (it->second.empty() || !it->second.front()->checked) return;
    std::shared_ptr<PendingAppend> p = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) queues.erase(it);
    write_checked(*p);  // may run callbacks that queue more appends: look the queue up again
  }
}

// Idempotence checks, LogAppendTime, the writes and the acks=all wait, for checked batches.
void write_checked(PendingAppend& p) {
  auto fail = [&](KafkaError e) {
    AppendOutcome o;
    o.error = std::move(e);
    p.done(std::move(o));
  };
  if (!p.error.ok()) {
    FERRY_LOG(info, "produce", "%s-%d: refused a batch: %s", p.topic.c_str(), p.partition,
              p.error.message().c_str());
    fail(std::move(p.error));
    return;
  }
  Broker& broker = *p.broker;
  const std::string& topic = p.topic;
  const int32_t partition = p.partition;
  // The topic may have been deleted while the records were checked off the loop.
  Topic* t = broker.topics().find(topic);
  auto log = broker.topics().partition(topic, partition);
  if (t == nullptr || log != p.log) {
    fail(
        {ErrorCode::unknown_topic_or_partition, "This server does not host this topic-partition."});
    return;
  }
  const auto& settings = t->settings;
  const int64_t now_ms = p.now_ms;
  AppendOutcome outcome;
  for (size_t i = 0; i < p.batches.size(); ++i) {
    auto b = p.batches[i];
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
                  check.error.message().c_str());
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
      // Stamping recomputes the CRC: check the producer's CRC before it is replaced.
      if (view.crc() != protocol::compute_batch_crc(b)) {
        fail({ErrorCode::corrupt_message, "record batch: CRC mismatch"});
        return;
      }
      stamp_log_append_time(b, now_ms);
      outcome.log_append_time_ms = now_ms;
    }
    auto info = log->append(b);
    if (!info) {
      // A batch the append's own check refuses (CRC, uncompressed records) is refused whole;
      // the full check gives the code Kafka would answer with.
      if (info.error().code() == Errc::corrupt) {
        const BatchCheck c = protocol::validate_produced_batch(b, p.limits);
        if (!c.ok()) {
          FERRY_LOG(info, "produce", "%s-%d: refused a batch: %s", topic.c_str(), partition,
                    c.reason.c_str());
          fail(fault_error(c));
          return;
        }
      }
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
  if (!p.durable) {
    p.done(std::move(outcome));
    return;
  }
  // Durable once everything up to the last offset is on disk (the log fires in offset order).
  log->flush([outcome, done = std::move(p.done)](Status st) mutable {
    if (!st) outcome.error = to_kafka_error(st.error());
    done(std::move(outcome));
  });
}

// Starts the next waiting off-loop check unless one runs. A check that cannot be queued runs
// here, on the loop. Each completed check writes what its partition's queue then allows.
void start_off_loop_check(Broker& broker) {
  AppendQueues& q = broker.append_queues();
  while (!q.off_loop_running && !q.off_loop.empty()) {
    std::shared_ptr<PendingAppend> p = std::move(q.off_loop.front());
    q.off_loop.pop_front();
    p->req.data = new std::shared_ptr<PendingAppend>(p);
    const int rc = uv_queue_work(
        broker.loop(), &p->req,
        [](uv_work_t* req) {
          (*static_cast<std::shared_ptr<PendingAppend>*>(req->data))->check_records();
        },
        [](uv_work_t* req, int status) {
          std::unique_ptr<std::shared_ptr<PendingAppend>> owner(
              static_cast<std::shared_ptr<PendingAppend>*>(req->data));
          PendingAppend& done = **owner;
          if (status != 0) {
            done.error = {ErrorCode::unknown_server_error, "records check cancelled"};
          }
          done.checked = true;
          Broker& b = *done.broker;
          b.append_queues().off_loop_running = false;
          drain(b, done.log.get());
          start_off_loop_check(b);
        });
    if (rc == 0) {
      q.off_loop_running = true;
      return;
    }
    delete static_cast<std::shared_ptr<PendingAppend>*>(p->req.data);
    p->check_records();
    p->checked = true;
    drain(broker, p->log.get());
  }
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
  auto p = std::make_shared<PendingAppend>();
  p->now_ms = broker.clock().now_ms();
  const auto magic = static_cast<int8_t>(records[bl::kMagic]);
  if (magic < protocol::kMagicV2) {
    if (produce_version >= 3) {
      fail({ErrorCode::invalid_record,
            "Produce v3 and later must carry record batches (magic 2), not magic " +
                std::to_string(magic)});
      return;
    }
    // Up-conversion checks every legacy message (CRC-32, lengths, codec, inflation bound) and
    // builds a well-formed batch from them.
    auto up = protocol::upconvert_message_set(records, p->now_ms);
    if (!up) {
      const Errc c = up.error().code();
      fail({c == Errc::unsupported ? ErrorCode::unsupported_compression_type
            : c == Errc::too_large ? ErrorCode::message_too_large
                                   : ErrorCode::corrupt_message,
            up.error().message()});
      return;
    }
    p->converted = std::move(up->batch);
    p->batches.emplace_back(p->converted);
    p->legacy = true;
  } else if (magic == protocol::kMagicV2) {
    if (auto e = split_batches(records, p->batches); !e.ok()) {
      fail(std::move(e));
      return;
    }
    if (produce_version >= 3 && p->batches.size() != 1) {
      fail({ErrorCode::invalid_record,
            "Produce v3 and later must carry exactly one record batch per partition"});
      return;
    }
  } else {
    fail({ErrorCode::corrupt_message, "unknown record format magic " + std::to_string(magic)});
    return;
  }

  const auto& settings = t->settings;
  size_t compressed_bytes = 0;
  for (auto b : p->batches) {
    if (!p->legacy) {
      if (BatchCheck c = protocol::validate_produced_header(b); !c.ok()) {
        FERRY_LOG(info, "produce", "%s-%d: refused a batch: %s", topic.c_str(), partition,
                  c.reason.c_str());
        fail(fault_error(c));
        return;
      }
    }
    const BatchView view(b);
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
    if (view.compression() != Compression::none) compressed_bytes += b.size();
  }

  p->broker = &broker;
  p->topic = topic;
  p->partition = partition;
  p->log = log;
  p->durable = durable;
  p->done = std::move(done);
  p->limits.max_inflated_bytes =
      std::min(protocol::kMaxInflatedBytes,
               static_cast<size_t>(std::max(broker.config().socket_request_max_bytes, 0)));
  const bool off_loop = !p->legacy && compressed_bytes >= kOffLoopBytes && broker.loop() != nullptr;
  AppendQueues& queues = broker.append_queues();
  queues.by_log[log.get()].push_back(p);
  if (off_loop) {
    queues.off_loop.push_back(std::move(p));
    start_off_loop_check(broker);
    return;
  }
  p->check_records();
  p->checked = true;
  drain(broker, log.get());
}

}  // namespace ferry::broker
