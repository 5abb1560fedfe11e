// Producer ids and the idempotence state of every partition, kept across restarts.
//
// Ids. InitProducerId hands out ids from blocks reserved in the metadata store (kIdBlock at a
// time); a block is committed before any of its ids is handed out, so no id is handed out twice,
// even across a crash. Ids below the store's limit count as issued here.
//
// State. Each partition's PartitionProducers lives in memory. A snapshot of it (rows in meta.db
// plus the log offset it reflects) is written when an idempotent append rolls the partition's
// log, on the housekeeping tick for every partition whose log grew since its last snapshot, and
// at shutdown - always after the log is durable up to that offset, so a snapshot never reflects
// batches a crash could take back. At start each partition loads its snapshot and replays the
// batch headers in its log from that offset to the end (the whole log when there is no snapshot;
// a snapshot ahead of the recovered log is discarded the same way). Producers idle for
// producer.id.expiration.ms are forgotten on the housekeeping tick.
//
// Threading: loop thread only; callbacks fire on the loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/kafka_error.h"
#include "broker/producers/producer_state.h"
#include "common/clock.h"
#include "common/result.h"
#include "meta/store.h"
#include "storage/log.h"

namespace ferry::broker {

class TopicManager;

struct ProducerIdAndEpoch {
  ProducerId id{-1};
  int16_t epoch = -1;
};

class ProducerRegistry {
 public:
  static constexpr int64_t kIdBlock = 1000;

  struct Partition {
    PartitionProducers producers;
    std::weak_ptr<storage::Log> log;  // the log this state belongs to (a re-created topic's
                                      // new log starts with no state)
    Offset snapshot_offset{-1};       // log offset of the last snapshot taken (-1: none)
    Offset snapshot_segment{-1};      // active segment base when it was taken
    bool snapshot_in_flight = false;
    bool snapshot_again = false;  // asked for while one was in flight
  };

  ProducerRegistry(meta::MetaStore& meta, TopicManager& topics, const Clock& clock,
                   int64_t expiration_ms);

  // Start-up, after the topics are loaded: the id limit, then each partition's snapshot and log.
  Status load();

  // InitProducerId for an idempotent producer. Without `current`: a new id with epoch 0. With
  // the id and epoch a producer already has (v3+): the same id with the epoch bumped, or a new
  // id when that id was not issued here or its epoch is exhausted. May wait for a block of ids
  // to be reserved; `done` fires on the loop (possibly before this returns).
  void init_producer(std::optional<ProducerIdAndEpoch> current,
                     std::function<void(Result<ProducerIdAndEpoch, KafkaError>)> done);
  bool issued(int64_t producer_id) const noexcept {
    if (cluster_base_ >= 0) return producer_id >= 0;  // any node of the cluster may issue it
    return producer_id >= 0 && producer_id < limit_.value();
  }
  // A node of a cluster: ids handed out here are (node id << 40) + the id meta.db reserved, so
  // the nodes never hand out the same id without asking each other (2^40 ids per node), and any
  // node's ids are accepted (a producer's batches move to another leader on failover).
  void set_cluster_node(NodeId self) noexcept { cluster_base_ = int64_t{self.value()} << 40; }

  // The state of topic/partition whose log is `log`, created empty on first use.
  Partition& partition(const std::string& topic, int32_t partition,
                       const std::shared_ptr<storage::Log>& log);
  // After an idempotent append to `p`: snapshots it when its log rolled.
  void appended(const std::string& topic, int32_t partition, Partition& p);

  // Expires idle producers, snapshots partitions whose log grew, forgets deleted partitions.
  void housekeeping();
  // Snapshots every partition at its log end; `done` fires once the store committed them all.
  // Call before the logs are closed.
  void close(std::function<void()> done);

  // The next producer id to hand out (every id below was issued or reserved).
  int64_t next_producer_id() const noexcept { return next_id_.value(); }
  // Snapshots written so far (tests).
  uint64_t snapshots_written() const noexcept { return snapshots_written_; }

 private:
  using Key = std::pair<std::string, int32_t>;
  Status load_partition(const std::string& topic, int32_t p,
                        const std::shared_ptr<storage::Log>& log);
  void snapshot(const Key& key);
  void snapshot_done(const Key& key);
  void reserve_block();

  meta::MetaStore& meta_;
  TopicManager& topics_;
  const Clock& clock_;
  int64_t expiration_ms_;
  std::map<Key, Partition> partitions_;

  ProducerId next_id_{0};
  ProducerId block_end_{0};  // next_id_ == block_end_: no ids left, reserve another block
  ProducerId limit_{0};      // every id below was reserved at some point
  bool reserving_ = false;
  int64_t cluster_base_ = -1;
  std::vector<std::function<void(Result<ProducerId, KafkaError>)>> id_waiters_;

  size_t snapshots_in_flight_ = 0;
  std::function<void()> close_done_;
  uint64_t snapshots_written_ = 0;
};

}  // namespace ferry::broker
