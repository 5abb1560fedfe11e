// Scheduler: which of a mirror's partitions sends the link's next batch (per-topic priorities,
// docs/mirror.md). Pure: it sees only the partitions that could send now and remembers whose
// turn it was.
//
// Rules: only the highest priority among the ready partitions sends (a partition is ready when
// it has a batch to send and may send it: forwarding, not reconciling, below its in-flight
// limit); partitions of equal priority take turns one batch each (round robin by batch, in the
// order of their ids, starting after the one chosen last at that priority). The decision is
// made per batch, so a partition of a higher priority that becomes ready (an acknowledgement
// freed a slot, new records arrived) takes the very next batch.
//
// Not thread-safe: owned by one Mirror, used on its loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>

namespace ferry::mirror {

struct SchedulerCandidate {
  uint64_t id = 0;       // the partition's id in the mirror (unique, stable while it exists)
  int32_t priority = 0;  // higher sends first
};

class Scheduler {
 public:
  // The id of the partition whose batch goes next, out of the ready ones (any order); nullopt
  // when none is ready. Remembers the choice as its priority's last turn.
  std::optional<uint64_t> pick(std::span<const SchedulerCandidate> ready);

 private:
  std::map<int32_t, uint64_t> last_;  // per priority: the id chosen last
};

}  // namespace ferry::mirror
