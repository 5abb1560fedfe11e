// Finding what a target that lost records can still be shown to hold. See lost_target.h.
#include "mirror/lost_target.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "client/client.h"
#include "mirror/sequence.h"
#include "mirror/target_fetch.h"

namespace ferry::mirror {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

constexpr size_t kMaxAhead = 100'000;

}  // namespace

UnshownFinder::UnshownFinder(std::set<int64_t> producer_ids, Offset gateway_start, Offset near)
    : ours_(std::move(producer_ids)),
      floor_(std::max<int64_t>(0, near.value() - kSequenceModulus / 2)),
      next_(gateway_start) {}

void UnshownFinder::feed(std::span<const TargetBatch> batches) {
  for (const TargetBatch& b : batches) {
    if (b.control || ours_.count(b.producer_id) == 0 || b.base_sequence < 0) continue;
    ++found_;
    const int64_t base = source_for(b.base_sequence, floor_).value();
    const int64_t end = base + b.last_offset_delta + 1;
    if (end <= next_.value()) continue;
    if (base > next_.value()) {
      if (ahead_.size() < kMaxAhead) {
        auto [it, fresh] = ahead_.emplace(base, end);
        if (!fresh) it->second = std::max(it->second, end);
      }
      continue;
    }
    next_ = Offset(end);
    // Ranges seen earlier that now join up.
    while (!ahead_.empty() && ahead_.begin()->first <= next_.value()) {
      next_ = Offset(std::max(next_.value(), ahead_.begin()->second));
      ahead_.erase(ahead_.begin());
    }
  }
}

namespace {

struct ScanState {
  client::Client& client;
  std::string topic;
  int32_t partition;
  UnshownFinder finder;
  TargetScan scan;
  std::function<void(client::KafkaResult<TargetScan>)> done;
};

void fetch_from(const std::shared_ptr<ScanState>& s, int64_t from) {
  fetch_target_page(
      s->client, s->topic, s->partition, from, [s, from](client::KafkaResult<TargetPage> resp) {
        if (!resp) {
          s->done(std::move(resp).error());
          return;
        }
        const TargetPage* part = &*resp;
        if (!part->named) {
          s->done(client::KafkaError::local(ErrorCode::unknown_server_error,
                                            "Fetch: the answer does not name the partition"));
          return;
        }
        if (part->error_code != 0) {
          s->done(client::KafkaError::broker(part->error_code));
          return;
        }
        s->finder.feed(part->batches);
        const int64_t next = part->next;
        s->scan.end = std::max(from, part->high_watermark);
        if (next < part->high_watermark && next > from) {
          fetch_from(s, next);
          return;
        }
        if (next < part->high_watermark) {
          s->done(client::KafkaError::local(
              ErrorCode::unknown_server_error,
              "Fetch " + s->topic + ": no batch at offset " + std::to_string(from)));
          return;
        }
        s->scan.first_unshown = s->finder.first_unshown();
        s->scan.found = s->finder.found();
        s->done(s->scan);
      });
}

}  // namespace

void scan_target(client::Client& client, const std::string& topic, int32_t partition,
                 UnshownFinder finder, std::function<void(client::KafkaResult<TargetScan>)> done) {
  auto s = std::make_shared<ScanState>(
      ScanState{client, topic, partition, std::move(finder), TargetScan{}, std::move(done)});
  protocol::ListOffsetsRequest req;
  req.topics.push_back({topic, {}});
  protocol::ListOffsetsRequest::Topic::Partition p;
  p.partition_index = partition;
  p.timestamp = -2;  // the log start
  req.topics.back().partitions.push_back(p);
  client.send_to_leader<ApiKey::list_offsets>(
      topic, partition, std::move(req), [s](client::KafkaResult<protocol::ListOffsetsResponse> r) {
        if (!r) {
          s->done(std::move(r).error());
          return;
        }
        for (const auto& t : r->topics) {
          for (const auto& part : t.partitions) {
            if (part.error_code != 0) {
              s->done(client::KafkaError::broker(part.error_code));
              return;
            }
            s->scan.start = part.offset;
          }
        }
        fetch_from(s, s->scan.start);
      });
}

}  // namespace ferry::mirror
