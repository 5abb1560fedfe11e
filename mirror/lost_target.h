// target.lost.policy = resend (docs/mirror.md, "Failure behaviour"): when a target partition
// no longer holds records it acknowledged (data loss, or the topic deleted and re-created), find
// the first source offset the target cannot be shown to hold, so that everything the gateway
// still holds from there is forwarded again.
//
// "Shown to hold": covered by one of the mirror's batches (one of its producer ids) found on the
// target partition now, scanned from its log start to its high watermark. Starting at the
// gateway's log start, the covered source ranges are followed as long as they join up; the first
// offset not covered is the answer. Sequences name source offsets mod 2^31; they are resolved
// near the last checkpoint (within 2^30 records of it).
//
// UnshownFinder is pure (any thread); scan_target() runs on the client's loop thread and its
// callback fires there (dropped if the Client is destroyed first).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>

#include "client/kafka_error.h"
#include "common/strong_types.h"
#include "mirror/reconcile.h"

namespace ferry::client {
class Client;
}

namespace ferry::mirror {

class UnshownFinder {
 public:
  // `gateway_start`: the source partition's log start (nothing below it can be resent);
  // `near`: a source offset the mirror's batches on the target lie within 2^30 of (the last
  // checkpoint).
  UnshownFinder(std::set<int64_t> producer_ids, Offset gateway_start, Offset near);
  // The next batches of the target partition, in target offset order.
  void feed(std::span<const TargetBatch> batches);
  // The first source offset >= gateway_start that no batch fed so far covers, following
  // covered ranges from gateway_start.
  Offset first_unshown() const noexcept { return next_; }
  int found() const noexcept { return found_; }

 private:
  std::set<int64_t> ours_;
  Offset floor_;
  Offset next_;
  int found_ = 0;
  // Covered ranges seen beyond next_ (out of order on the target), base -> end; bounded.
  std::map<int64_t, int64_t> ahead_;
};

struct TargetScan {
  int64_t start = 0;  // the target partition's log start offset
  int64_t end = 0;    // its high watermark when the scan ended
  Offset first_unshown{0};
  int found = 0;  // the mirror's batches found
};

// Scans target topic/partition from its log start to its high watermark (ListOffsets, then
// Fetch rounds of at most 1 MiB) with an UnshownFinder.
void scan_target(client::Client& client, const std::string& topic, int32_t partition,
                 UnshownFinder finder, std::function<void(client::KafkaResult<TargetScan>)> done);

}  // namespace ferry::mirror
