// The one-partition Fetch of a target partition read back. See target_fetch.h.
#include "mirror/target_fetch.h"

#include <utility>

namespace ferry::mirror {

namespace {
constexpr int32_t kPageBytes = 1 << 20;
}  // namespace

void fetch_target_page(client::Client& client, const std::string& topic, int32_t partition,
                       int64_t from, std::function<void(client::KafkaResult<TargetPage>)> done) {
  protocol::FetchRequest req;
  req.max_wait_ms = 0;
  req.min_bytes = 0;
  req.max_bytes = kPageBytes;
  req.isolation_level = 0;
  protocol::FetchRequest::Topic t;
  t.topic = topic;
  protocol::FetchRequest::Topic::Partition fp;
  fp.partition = partition;
  fp.fetch_offset = from;
  fp.partition_max_bytes = kPageBytes;
  t.partitions.push_back(fp);
  req.topics.push_back(std::move(t));
  client.send_to_leader<protocol::ApiKey::fetch>(
      topic, partition, std::move(req),
      [partition, from, done = std::move(done)](client::KafkaResult<protocol::FetchResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        TargetPage page;
        page.next = from;
        for (const auto& rt : r->responses) {
          for (const auto& p : rt.partitions) {
            if (p.partition_index != partition) continue;
            page.named = true;
            page.error_code = p.error_code;
            page.high_watermark = p.high_watermark;
            page.batches.clear();
            if (p.records.data) page.batches = parse_target_batches(*p.records.data);
          }
        }
        if (!page.batches.empty()) {
          page.next = page.batches.back().base_offset + page.batches.back().last_offset_delta + 1;
        }
        done(std::move(page));
      });
}

}  // namespace ferry::mirror
