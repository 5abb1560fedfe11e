// An asynchronous Kafka producer on the client's loop: records (or whole pre-built v2 batches)
// go in, Produce requests to the partition leaders go out, and each record gets a delivery
// report with its offset or its error.
//
//   Producer p(client, {.acks = -1, .idempotent = true});
//   p.produce({.topic = "t", .key = "k", .value = "v"}, [](const DeliveryReport& r) { ... });
//   p.flush([] { ... every record given so far has been reported ... });
//
// Partitions: an explicit partition, else murmur2 of the key modulo the partition count (the
// partition Java's producer and librdkafka's murmur2_random choose), else a sticky partition per
// topic for null keys that moves on each time its batch is closed.
//
// Batching: per partition, records are collected into one open batch, closed when it reaches
// batch_size bytes, or once linger_ms have passed since its first record and the partition may
// send (flush() closes every open batch at once). While a partition waits for its in-flight
// requests, its open batch keeps filling up to batch_size, as in Kafka's Java producer, so the
// batches grow with the round-trip time instead of queueing up small. Closed batches are sent in
// order, at most max_in_flight at a time per partition when idempotent (<= 5: the window the
// broker deduplicates in) and one at a time otherwise, so that a retry can never overtake a
// later batch (Kafka's max.in.flight.requests.per.connection > 1 without idempotence may reorder
// records on a retry; ferry's producer does not offer that).
//
// Requests: the batches that become sendable in one loop turn are grouped by leader into one
// Produce request per broker carrying every partition's batch (at most max_request_size bytes
// of batches, a partition at most once per request; a second batch of the same partition goes
// into a later request on the same connection, which the broker handles in order). Requests to
// one broker are pipelined on its connection, so partitions never wait for each other.
//
// Retries: a batch failing with a retriable error (protocol::error_retriable, a lost connection,
// a timeout) stops its partition; once the partition's in-flight batches have all come back,
// the failed ones go back to the front of the queue in their original order and are sent again
// after retry_backoff_ms, until delivery_timeout_ms after they were created. Leader errors
// (Client::is_leader_error: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, ...) and lost
// connections mark the topic's metadata stale first.
//
// Idempotence (KIP-98, KIP-360): InitProducerId before the first Produce; per partition the
// base sequence starts at 0 and advances by each batch's record count; a retried batch keeps
// its sequence within an epoch. DUPLICATE_SEQUENCE_NUMBER is a success. On
// OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID or INVALID_PRODUCER_EPOCH (and after a batch
// failed for good, which leaves a gap in the sequences) every partition stops sending; once
// nothing is in flight, InitProducerId is sent with the current id and epoch (v3+: the broker
// bumps the epoch; older brokers ignore them and assign a new id), every sequence restarts at 0
// and the unacknowledged batches are sent again with new sequences.
//
// Pre-built batches (produce_batch) are sent as they are except for producer id, epoch and base
// sequence (-1 when not idempotent) and the CRC32C recomputed over them; baseOffset is set to 0.
// They are never decompressed or recompressed.
//
// Errors are values: a record's report carries its ferry::Offset or a KafkaError; nothing throws.
//
// Threading: loop thread only; delivery reports and flush callbacks run on the loop thread,
// never inside produce(). Ownership: the Client must outlive the Producer. Destroying the
// Producer drops pending reports without calling them; it must not be destroyed from inside one
// of its own callbacks (use close() and destroy it afterwards).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/client.h"
#include "client/kafka_error.h"
#include "common/uv_timer.h"
#include "protocol/record_batch.h"

namespace ferry::client {

struct ProducerOptions {
  int16_t acks = -1;                                                // 0, 1 or -1 (all)
  bool idempotent = false;                                          // implies acks = -1
  protocol::Compression compression = protocol::Compression::none;  // none or lz4
  uint64_t linger_ms = 5;
  size_t batch_size = 16384;           // bytes of record data per batch
  int32_t request_timeout_ms = 30000;  // the Produce request's timeout_ms
  uint64_t delivery_timeout_ms = 120'000;
  uint64_t retry_backoff_ms = 100;
  int max_in_flight = 5;  // per partition, when idempotent (capped at 5)
  // Bytes of record batches in one Produce request (Kafka's max.request.size); a single batch
  // larger than this still goes alone.
  size_t max_request_size = 1048576;
};

struct ProducerRecord {
  std::string topic;
  std::optional<int32_t> partition;  // nullopt: the partitioner chooses
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = -1;  // -1: now
};

struct DeliveryReport {
  std::string topic;
  int32_t partition = -1;
  // The record's offset (the first offset for a pre-built batch); -1 when acks=0 or the broker
  // reported a duplicate without its offset.
  KafkaResult<Offset> offset;
  int32_t record_count = 1;
};
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

// Kafka's murmur2 (as in Java's Utils.murmur2), and the partition it gives `key`.
uint32_t murmur2(std::span<const std::byte> data) noexcept;
int32_t murmur2_partition(std::string_view key, int32_t partitions) noexcept;

class Producer {
 public:
  Producer(Client& client, ProducerOptions options);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one record; `done` (may be empty) gets its report.
  void produce(ProducerRecord record, DeliveryCallback done);
  // Queues a complete v2 record batch for topic/partition; one report for the whole batch.
  void produce_batch(std::string topic, int32_t partition, std::vector<std::byte> batch,
                     DeliveryCallback done);
  // `done` runs once every record queued so far has been reported (at once, on a later loop
  // turn, when nothing is pending). Open batches are closed now.
  void flush(std::function<void()> done);
  // Refuses new records (their reports say so at once) and runs `done` once everything queued
  // before has been reported, like flush(). The Producer may be destroyed afterwards.
  void close(std::function<void()> done);
  // Records and batches queued but not yet reported.
  size_t pending() const noexcept { return pending_; }

  ProducerId producer_id() const noexcept { return ProducerId(producer_id_); }
  int16_t producer_epoch() const noexcept { return epoch_; }

 private:
  struct Batch {
    uint64_t serial = 0;  // order of creation within the partition
    std::vector<ProducerRecord> records;
    std::vector<DeliveryCallback> reports;          // one per record, or one for a pre-built batch
    std::shared_ptr<std::vector<std::byte>> bytes;  // built at the first send
    bool prebuilt = false;
    int32_t record_count = 0;
    size_t size = 0;  // estimated bytes
    int32_t base_sequence = -1;
    int16_t epoch = -1;
    uint64_t created_ms = 0;
    int attempts = 0;
  };
  struct Partition {
    std::string topic;
    int32_t index = 0;
    std::unique_ptr<Batch> open;
    std::deque<std::unique_ptr<Batch>> ready;
    std::vector<std::unique_ptr<Batch>> in_flight;  // in send order
    std::vector<std::unique_ptr<Batch>> retry;      // failed, back to `ready` once drained
    bool draining = false;
    uint64_t retry_at_ms = 0;
    int32_t next_sequence = 0;
    uint64_t next_serial = 0;
    size_t last_record_count = 0;  // records in the last batch closed
    std::unique_ptr<UvTimer> linger;
    std::unique_ptr<UvTimer> backoff;
  };
  struct Unassigned {
    ProducerRecord record;
    DeliveryCallback done;
    uint64_t created_ms;
  };

  Partition& partition(const std::string& topic, int32_t index);
  void append(Partition& p, ProducerRecord record, DeliveryCallback done);
  void assign_partitions(const std::string& topic);
  // The partition of a record without one: murmur2 of its key, else the topic's sticky one.
  int32_t choose_partition(const ProducerRecord& record, int32_t partitions);
  void close_open(Partition& p);
  void pump(Partition& p);
  void pump_all();
  void send(Partition& p);
  // A sent batch waiting for this loop turn's Produce request to its leader.
  struct Outgoing {
    Partition* partition;
    Batch* batch;
    std::shared_ptr<std::vector<std::byte>> bytes;
  };
  void queue_outgoing(NodeId node, Outgoing o);
  // Sends what queue_outgoing() collected: one request per leader (more when a partition has
  // several batches or the size limit is reached).
  void send_outbox();
  void send_request(NodeId node, std::vector<Outgoing> batches);
  void on_result(Partition& p, Batch* sent, KafkaResult<Offset> base_offset);
  void finish(Partition& p, std::unique_ptr<Batch> b, const KafkaResult<Offset>& base_offset);
  void drained(Partition& p);
  void init_producer_id();
  void fail_everything(const KafkaError& e);
  // Fails the queued batches older than the delivery timeout with `e` (while InitProducerId
  // keeps failing, nothing is sent).
  void expire_queued(const KafkaError& e);
  void check_flush();
  // Why new records are refused (closed, or a fatal error), if they are.
  std::optional<KafkaError> refusal() const;
  // Runs `fn` on the loop after `ms` (0: a later loop turn), unless the producer is gone.
  void after(uint64_t ms, std::function<void()> fn);

  Client& client_;
  ProducerOptions options_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<Partition>> partitions_;
  std::map<std::string, std::deque<Unassigned>> unassigned_;
  std::map<std::string, int32_t> sticky_;
  std::minstd_rand random_;
  size_t pending_ = 0;
  size_t in_flight_ = 0;  // batches, over every partition
  std::vector<std::function<void()>> flush_waiters_;
  // Idempotence.
  int64_t producer_id_ = -1;
  int16_t epoch_ = -1;
  bool have_id_ = false;
  bool need_bump_ = false;
  bool init_in_flight_ = false;
  std::optional<KafkaError> fatal_;  // InitProducerId failed for good
  bool closed_ = false;
  std::map<NodeId, std::vector<Outgoing>> outbox_;
  std::unique_ptr<UvTimer> outbox_timer_;
  std::list<std::unique_ptr<UvTimer>> timers_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ferry::client
