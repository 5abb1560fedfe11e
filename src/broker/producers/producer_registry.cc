// Producer ids and per-partition idempotence state. See producer_registry.h.
#include "broker/producers/producer_registry.h"

#include <algorithm>
#include <limits>

#include "broker/topic_manager.h"
#include "common/log.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

constexpr size_t kReplayReadBytes = 1 << 20;

std::string name_of(const std::string& topic, int32_t p) { return topic + "-" + std::to_string(p); }

ProducerBatch header_of(const protocol::BatchView& v) {
  return {v.producer_id().value(), v.producer_epoch(), v.base_sequence(), v.last_offset_delta()};
}

}  // namespace

ProducerRegistry::ProducerRegistry(meta::MetaStore& meta, TopicManager& topics, const Clock& clock,
                                   int64_t expiration_ms)
    : meta_(meta), topics_(topics), clock_(clock), expiration_ms_(expiration_ms) {}

Status ProducerRegistry::load() {
  auto limit = meta_.producer_id_limit();
  if (!limit) return std::move(limit).error();
  limit_ = *limit;
  next_id_ = block_end_ = limit_;
  size_t states = 0;
  size_t with_state = 0;
  for (const auto& [name, topic] : topics_.topics()) {
    for (size_t p = 0; p < topic.partitions.size(); ++p) {
      if (!topic.partitions[p]) continue;
      const auto id = static_cast<int32_t>(p);
      FERRY_TRY(load_partition(name, id, topic.partitions[p]->shared_log()));
      const size_t n = partitions_[{name, id}].producers.size();
      states += n;
      with_state += n > 0 ? 1 : 0;
    }
  }
  if (states > 0) {
    FERRY_LOG(info, "producers",
              "idempotent producer state loaded: %zu (producer, partition) entries on %zu of %zu "
              "partitions",
              states, with_state, partitions_.size());
  }
  return ok_status();
}

Status ProducerRegistry::load_partition(const std::string& topic, int32_t p,
                                        const std::shared_ptr<storage::Log>& log) {
  Partition& part = partitions_[{topic, p}];
  part.log = log;
  auto snap = meta_.producer_snapshot_offset(topic, PartitionId(p));
  if (!snap) return std::move(snap).error();
  Offset from = log->log_start_offset();
  if (*snap && **snap > log->log_end_offset()) {
    FERRY_LOG(warn, "producers",
              "%s: producer snapshot at offset %lld is past the log end %lld; rebuilding the "
              "producer state from the whole log",
              name_of(topic, p).c_str(), static_cast<long long>((*snap)->value()),
              static_cast<long long>(log->log_end_offset().value()));
  } else if (*snap) {
    auto rows = meta_.producer_states(topic, PartitionId(p));
    if (!rows) return std::move(rows).error();
    if (auto st = part.producers.load(*rows); !st) {
      FERRY_LOG(warn, "producers", "%s: %s", name_of(topic, p).c_str(),
                st.error().message().c_str());
    }
    part.snapshot_offset = **snap;
    if (**snap > from) from = **snap;
  }
  const int64_t now = clock_.now_ms();
  while (from < log->log_end_offset()) {
    auto r = log->read(from, kReplayReadBytes);
    if (!r) return std::move(r).error();
    if (r->batch_count == 0) break;
    size_t pos = 0;
    while (pos < r->data.size()) {
      auto size = protocol::declared_batch_size(std::span(r->data).subspan(pos));
      if (!size || *size > r->data.size() - pos) break;
      const protocol::BatchView v(std::span(r->data).subspan(pos, *size));
      pos += *size;
      if (v.producer_id().value() < 0 || v.last_offset() < from) continue;
      part.producers.record(header_of(v), v.base_offset(), v.last_offset(), v.max_timestamp(), now);
    }
    from = r->next_offset;
  }
  part.snapshot_segment = log->active_segment_base();
  return ok_status();
}

void ProducerRegistry::init_producer(
    std::optional<ProducerIdAndEpoch> current,
    std::function<void(Result<ProducerIdAndEpoch, KafkaError>)> done) {
  if (current && issued(current->id.value()) && current->epoch >= 0 &&
      current->epoch < std::numeric_limits<int16_t>::max() - 1) {
    done(ProducerIdAndEpoch{current->id, static_cast<int16_t>(current->epoch + 1)});
    return;
  }
  const int64_t base = std::max<int64_t>(cluster_base_, 0);
  if (next_id_ < block_end_) {
    done(ProducerIdAndEpoch{ProducerId(base + next_id_.value()), 0});
    next_id_ += 1;
    return;
  }
  id_waiters_.push_back([done = std::move(done), base](Result<ProducerId, KafkaError> id) {
    if (!id) {
      done(std::move(id).error());
      return;
    }
    done(ProducerIdAndEpoch{ProducerId(base + id->value()), 0});
  });
  reserve_block();
}

void ProducerRegistry::reserve_block() {
  if (reserving_) return;
  reserving_ = true;
  auto first = std::make_shared<ProducerId>(-1);
  meta_.submit({meta::Mutation::reserve_producer_ids(kIdBlock, first)}, [this, first](Status st) {
    reserving_ = false;
    auto waiters = std::move(id_waiters_);
    id_waiters_.clear();
    if (!st) {
      FERRY_LOG(error, "producers", "reserving producer ids: %s", st.error().to_string().c_str());
      for (auto& w : waiters) {
        w(KafkaError{ErrorCode::coordinator_not_available,
                     "producer ids could not be reserved: " + st.error().message()});
      }
      return;
    }
    next_id_ = *first;
    block_end_ = *first + kIdBlock;
    if (block_end_ > limit_) limit_ = block_end_;
    size_t i = 0;
    for (; i < waiters.size() && next_id_ < block_end_; ++i) {
      const ProducerId id = next_id_;
      next_id_ += 1;
      waiters[i](id);
    }
    // More waiters than a block holds: they wait for the next one.
    for (; i < waiters.size(); ++i) id_waiters_.push_back(std::move(waiters[i]));
    if (!id_waiters_.empty()) reserve_block();
  });
}

ProducerRegistry::Partition& ProducerRegistry::partition(const std::string& topic,
                                                         int32_t partition,
                                                         const std::shared_ptr<storage::Log>& log) {
  auto [it, inserted] = partitions_.try_emplace(Key{topic, partition});
  Partition& p = it->second;
  if (!inserted && p.log.lock() == log) return p;
  if (!inserted) {
    // The topic was deleted and created again: its old producers are gone with the old log.
    p.producers.clear();
    p.snapshot_offset = Offset(-1);
  }
  p.log = log;
  p.snapshot_segment = log->active_segment_base();
  return p;
}

void ProducerRegistry::appended(const std::string& topic, int32_t partition, Partition& p) {
  auto log = p.log.lock();
  if (!log || log->active_segment_base() == p.snapshot_segment) return;
  snapshot(Key{topic, partition});
}

void ProducerRegistry::housekeeping() {
  const int64_t now = clock_.now_ms();
  // Partitions of live topics (new ones get an entry here); entries of deleted ones go.
  for (const auto& [name, topic] : topics_.topics()) {
    if (topic.deleting) continue;
    for (size_t i = 0; i < topic.partitions.size(); ++i) {
      if (!topic.partitions[i]) continue;
      partition(name, static_cast<int32_t>(i), topic.partitions[i]->shared_log());
    }
  }
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    auto log = it->second.log.lock();
    const Topic* t = topics_.find(it->first.first);
    const bool live = log && t != nullptr &&
                      static_cast<size_t>(it->first.second) < t->partitions.size() &&
                      t->partitions[static_cast<size_t>(it->first.second)]->shared_log() == log;
    if (!live && !it->second.snapshot_in_flight) {
      it = partitions_.erase(it);
      continue;
    }
    if (live) {
      const size_t expired = it->second.producers.expire(now, expiration_ms_);
      if (expired > 0) {
        FERRY_LOG(info, "producers", "%s: forgot %zu producer(s) idle for %lld ms or more",
                  name_of(it->first.first, it->first.second).c_str(), expired,
                  static_cast<long long>(expiration_ms_));
      }
      if (it->second.producers.changed() || log->log_end_offset() != it->second.snapshot_offset) {
        snapshot(it->first);
      }
    }
    ++it;
  }
}

void ProducerRegistry::close(std::function<void()> done) {
  close_done_ = std::move(done);
  // A snapshot can complete inside housekeeping() (a failed log answers its flush at once):
  // count this call as in flight so `done` fires once, after every snapshot it starts.
  ++snapshots_in_flight_;
  housekeeping();
  --snapshots_in_flight_;
  if (snapshots_in_flight_ == 0 && close_done_) {
    auto d = std::move(close_done_);
    close_done_ = nullptr;
    d();
  }
}

void ProducerRegistry::snapshot(const Key& key) {
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  if (p.snapshot_in_flight) {
    p.snapshot_again = true;
    return;
  }
  auto log = p.log.lock();
  if (!log) return;
  p.snapshot_in_flight = true;
  ++snapshots_in_flight_;
  const Offset at = log->log_end_offset();
  auto rows = p.producers.to_records(key.first, PartitionId(key.second));
  p.producers.clear_changed();
  p.snapshot_segment = log->active_segment_base();
  // The snapshot may only reach the store once the log holds everything it reflects.
  log->flush([this, key, at, rows = std::move(rows)](Status st) mutable {
    if (!st) {
      FERRY_LOG(warn, "producers", "%s: producer snapshot skipped, log flush failed: %s",
                name_of(key.first, key.second).c_str(), st.error().to_string().c_str());
      if (auto entry = partitions_.find(key); entry != partitions_.end()) {
        entry->second.snapshot_again = false;  // a failed log accepts nothing more anyway
      }
      snapshot_done(key);
      return;
    }
    meta_.submit({meta::Mutation::put_producer_snapshot(key.first, PartitionId(key.second), at,
                                                        std::move(rows))},
                 [this, key, at](Status st2) {
                   auto entry = partitions_.find(key);
                   if (!st2) {
                     FERRY_LOG(warn, "producers", "%s: writing the producer snapshot: %s",
                               name_of(key.first, key.second).c_str(),
                               st2.error().to_string().c_str());
                     // The next housekeeping tick tries again.
                     if (entry != partitions_.end()) entry->second.snapshot_offset = Offset(-1);
                   } else {
                     ++snapshots_written_;
                     if (entry != partitions_.end()) entry->second.snapshot_offset = at;
                   }
                   snapshot_done(key);
                 });
  });
}

void ProducerRegistry::snapshot_done(const Key& key) {
  --snapshots_in_flight_;
  if (auto it = partitions_.find(key); it != partitions_.end()) {
    it->second.snapshot_in_flight = false;
    if (it->second.snapshot_again) {
      it->second.snapshot_again = false;
      snapshot(key);
    }
  }
  if (snapshots_in_flight_ == 0 && close_done_) {
    auto d = std::move(close_done_);
    close_done_ = nullptr;
    d();
  }
}

}  // namespace ferry::broker
