// One page of a target partition read back: the Fetch request that reconciliation
// (Mirror::reconcile) and the lost-target scan (lost_target.h) both send — one partition, from
// one offset, no waiting, read_uncommitted, at most 1 MiB — and its answer reduced to what both
// need (the batches' headers, the high watermark, the partition's error).
//
// Threading: the client's loop thread; `done` runs there, never before the call returns.
// Ownership: `client` must outlive the request (destroying it drops `done` unrun).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/client.h"
#include "mirror/reconcile.h"

namespace ferry::mirror {

struct TargetPage {
  bool named = false;      // the answer named the partition (the fields below are its)
  int16_t error_code = 0;  // the partition's error (OFFSET_OUT_OF_RANGE, leader errors...)
  int64_t high_watermark = -1;
  std::vector<TargetBatch> batches;  // the whole batches returned, in offset order
  int64_t next = 0;                  // the offset after the last batch; `from` when none
};

// Fetches `topic`/`partition` from `from` at the partition's leader. A transport error (no
// connection, timeout) is the KafkaResult's error; anything the broker answered is a page.
void fetch_target_page(client::Client& client, const std::string& topic, int32_t partition,
                       int64_t from, std::function<void(client::KafkaResult<TargetPage>)> done);

}  // namespace ferry::mirror
