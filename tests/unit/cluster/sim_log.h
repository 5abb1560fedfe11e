// A replicated log in memory for the Raft core's tests: batches as (base offset, count, epoch,
// id), a durable end that a flush moves, a crash that loses everything above it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cluster/raft_core.h"

namespace ferry::cluster::test {

// One batch. `id` names it across every log of a test (the same batch fetched by two nodes has
// the same id); `parent` is the id of the batch before it in the log of the leader that made it
// (0: none), so that a log's batches form a chain that can be checked on every append.
struct SimBatch {
  Offset base{0};
  int64_t count = 1;
  LeaderEpoch epoch{0};
  uint64_t id = 0;
  uint64_t parent = 0;
  Offset end() const { return base + count; }
  bool operator==(const SimBatch&) const = default;
};

class SimLog final : public RaftLogView {
 public:
  Offset end_offset() const override {
    return batches_.empty() ? Offset{0} : batches_.back().end();
  }
  Offset durable_offset() const override { return durable_; }
  LeaderEpoch last_epoch() const override {
    return batches_.empty() ? kNoEpoch : batches_.back().epoch;
  }
  EpochEnd end_of_epoch(LeaderEpoch epoch) const override {
    // Epochs never go down along a log: the last batch at or below `epoch` ends that epoch.
    for (auto it = batches_.rbegin(); it != batches_.rend(); ++it) {
      if (it->epoch <= epoch) return EpochEnd{it->epoch, it->end()};
    }
    return EpochEnd{};
  }

  // Appends `batch` at the end; false (nothing appended) when it does not start there.
  bool append(const SimBatch& batch) {
    if (batch.base != end_offset()) return false;
    batches_.push_back(batch);
    return true;
  }
  // Cuts at `to`: every batch holding an offset >= `to` goes, as a partition log truncates.
  // Returns the batches removed.
  std::vector<SimBatch> truncate_to(Offset to) {
    std::vector<SimBatch> removed;
    while (!batches_.empty() && batches_.back().end() > to) {
      removed.push_back(batches_.back());
      batches_.pop_back();
    }
    durable_ = std::min(durable_, end_offset());
    return removed;
  }
  void flush() { durable_ = end_offset(); }
  // Power loss: what was not flushed is gone.
  std::vector<SimBatch> crash() { return truncate_to(durable_); }

  const std::vector<SimBatch>& batches() const { return batches_; }
  // The batch holding `offset`, or nullptr.
  const SimBatch* batch_at(Offset offset) const {
    auto it = std::upper_bound(batches_.begin(), batches_.end(), offset,
                               [](Offset o, const SimBatch& b) { return o < b.base; });
    if (it == batches_.begin()) return nullptr;
    --it;
    return offset < it->end() ? &*it : nullptr;
  }
  // The batches starting at or after `from`, at most `max`.
  std::vector<SimBatch> read_from(Offset from, size_t max) const {
    std::vector<SimBatch> out;
    auto it = std::lower_bound(batches_.begin(), batches_.end(), from,
                               [](const SimBatch& b, Offset o) { return b.base < o; });
    for (; it != batches_.end() && out.size() < max; ++it) out.push_back(*it);
    return out;
  }

 private:
  std::vector<SimBatch> batches_;
  Offset durable_{0};
};

}  // namespace ferry::cluster::test
