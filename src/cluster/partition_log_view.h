// RaftLogView over a partition log: its end, durable end, and leader epochs from the log's
// leader-epoch cache (storage::Log::last_epoch / end_of_epoch).
#pragma once

#include <memory>

#include "cluster/raft_core.h"
#include "storage/log.h"

namespace ferry::cluster {

class PartitionLogView final : public RaftLogView {
 public:
  explicit PartitionLogView(std::shared_ptr<storage::Log> log) : log_(std::move(log)) {}
  Offset start_offset() const override { return log_->log_start_offset(); }
  Offset end_offset() const override { return log_->log_end_offset(); }
  Offset durable_offset() const override { return log_->durable_offset(); }
  LeaderEpoch last_epoch() const override;
  EpochEnd end_of_epoch(LeaderEpoch epoch) const override;

 private:
  std::shared_ptr<storage::Log> log_;
};

}  // namespace ferry::cluster
