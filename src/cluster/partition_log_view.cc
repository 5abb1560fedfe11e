// RaftLogView over a partition log. See partition_log_view.h.
#include "cluster/partition_log_view.h"

namespace ferry::cluster {

LeaderEpoch PartitionLogView::last_epoch() const { return log_->last_epoch(); }

EpochEnd PartitionLogView::end_of_epoch(LeaderEpoch epoch) const {
  auto e = log_->end_of_epoch(epoch);
  return EpochEnd{e.epoch, e.end_offset};
}

}  // namespace ferry::cluster
