// OffsetForLeaderEpoch (key 23): for each partition, the end of the asked epoch in this leader's
// log, from its leader-epoch cache (storage::Log::end_of_epoch): the largest epoch <= the one
// asked about and the start of the next epoch, or the log end for the newest. A partition this
// node does not lead is NOT_LEADER_OR_FOLLOWER; current_leader_epoch (v2+) is checked as Fetch
// checks it.
#include "broker/api_table.h"
#include "broker/broker.h"
#include "broker/leader_epoch_check.h"
#include "protocol/messages/leader_epochs.h"

namespace ferry::broker {

void handle_offset_for_leader_epoch(Broker& b, Request&& r) {
  protocol::OffsetForLeaderEpochRequest req;
  if (!decode_body(r, req)) return;
  protocol::OffsetForLeaderEpochResponse resp;
  for (const auto& t : req.topics) {
    auto& rt = resp.topics.emplace_back();
    rt.topic = t.topic;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition = p.partition;
      auto part = b.topics().partition(t.topic, p.partition);
      if (part == nullptr) {
        rp.error_code = static_cast<int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      if (!part->is_leader()) {
        rp.error_code = static_cast<int16_t>(ErrorCode::not_leader_or_follower);
        continue;
      }
      if (auto e = check_current_leader_epoch(p.current_leader_epoch, part->leader_epoch())) {
        rp.error_code = static_cast<int16_t>(*e);
        continue;
      }
      const storage::EpochEndOffset end = part->log().end_of_epoch(LeaderEpoch(p.leader_epoch));
      rp.leader_epoch = end.epoch.value();
      rp.end_offset = end.end_offset.value();
    }
  }
  respond(r, resp);
}

}  // namespace ferry::broker
