// Heartbeat records to the central cluster. See heartbeat.h.
#include "mirror/heartbeat.h"

#include <cstdio>
#include <vector>

#include "client/admin.h"
#include "client/client.h"
#include "common/log.h"
#include "protocol/record_batch.h"

namespace ferry::mirror {

using protocol::ApiKey;
using protocol::ErrorCode;

std::string heartbeat_key(int32_t node_id, std::string_view mirror) {
  return std::to_string(node_id) + "/" + std::string(mirror);
}

std::string heartbeat_value(int32_t node_id, std::string_view mirror, int64_t sent_ms,
                            const HeartbeatSummary& summary) {
  // Mirror names are letters, digits, '.', '_' and '-' (checked at start): no JSON escaping.
  return "{\"node\":" + std::to_string(node_id) + ",\"mirror\":\"" + std::string(mirror) +
         "\",\"sent_ms\":" + std::to_string(sent_ms) +
         ",\"partitions\":" + std::to_string(summary.partitions) +
         ",\"records_behind\":" + std::to_string(summary.records_behind) + "}";
}

Heartbeat::Heartbeat(uv_loop_t* loop, client::Client& client, const config::MirrorConfig& config,
                     int32_t node_id, const Clock& clock, Hooks hooks)
    : loop_(loop),
      client_(client),
      config_(config),
      node_id_(node_id),
      clock_(clock),
      hooks_(std::move(hooks)),
      timer_(loop) {}

void Heartbeat::start() {
  if (config_.heartbeats_interval_ms <= 0) return;
  tick();
}

void Heartbeat::tick() {
  if (!pending_) {
    if (topic_ready_) {
      send();
    } else {
      ensure_topic();
    }
  }
  std::weak_ptr<int> life = life_;
  timer_.start(static_cast<uint64_t>(config_.heartbeats_interval_ms), [this, life] {
    if (!life.expired()) tick();
  });
}

void Heartbeat::failed(const std::string& what, bool connection) {
  pending_ = false;
  last_error_ = what;
  if (connection && hooks_.link_failed) hooks_.link_failed(what);
  FERRY_LOG_RATELIMITED(warn, "mirror", "heartbeat", "mirror %s: heartbeat: %s",
                        config_.name.c_str(), what.c_str());
}

// Looks the topic up; creates it (one partition) when missing and target.topics.create is on.
void Heartbeat::ensure_topic() {
  pending_ = true;
  const std::string topic = config_.heartbeats_topic;
  std::weak_ptr<int> life = life_;
  client_.topic_metadata(topic, [this, life, topic](client::KafkaResult<client::TopicMetadata> md) {
    if (life.expired()) return;
    if (md && !md->partitions.empty()) {
      if (hooks_.link_ok) hooks_.link_ok();
      topic_ready_ = true;
      send();
      return;
    }
    if (!md && md.error().code() == ErrorCode::unknown_topic_or_partition &&
        config_.create_target_topics) {
      client::Admin admin(client_);
      client::NewTopic nt;
      nt.name = topic;
      nt.partitions = 1;
      nt.replication_factor = config_.target_replication_factor;
      admin.create_topics(
          {nt}, false,
          [this, life, topic](client::KafkaResult<std::vector<client::TopicOutcome>> r) {
            if (life.expired()) return;
            client_.invalidate_metadata(topic);
            if (!r) {
              failed("CreateTopics " + topic + ": " + r.error().to_string(),
                     !r.error().from_broker());
              return;
            }
            if (!r->empty() && r->front().error &&
                r->front().error->code() != ErrorCode::topic_already_exists) {
              failed("CreateTopics " + topic + ": " + r->front().error->to_string(), false);
              return;
            }
            FERRY_LOG(info, "mirror", "mirror %s: created heartbeats topic %s",
                      config_.name.c_str(), topic.c_str());
            pending_ = false;  // the next tick looks it up again and sends
          });
      return;
    }
    client_.invalidate_metadata(topic);
    if (md) {
      failed("Metadata " + topic + ": no partitions", false);
    } else {
      failed("Metadata " + topic + ": " + md.error().to_string(), !md.error().from_broker());
    }
  });
}

void Heartbeat::send() {
  pending_ = true;
  const int64_t now = clock_.now_ms();
  const HeartbeatSummary summary = hooks_.summary ? hooks_.summary() : HeartbeatSummary{};
  const std::string key = heartbeat_key(node_id_, config_.name);
  const std::string value = heartbeat_value(node_id_, config_.name, now, summary);
  protocol::RecordInput record;
  record.key = key;
  record.value = value;
  record.timestamp_ms = now;
  Result<std::vector<std::byte>> batch =
      protocol::build_batch(std::span<const protocol::RecordInput>(&record, 1), {});
  if (!batch) {
    failed("building the record: " + batch.error().to_string(), false);
    return;
  }
  auto bytes = std::make_shared<std::vector<std::byte>>(std::move(*batch));
  protocol::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = config_.request_timeout_ms;
  req.topic_data.push_back({config_.heartbeats_topic, {}});
  req.topic_data.back().partition_data.push_back({0, protocol::RecordsRef{*bytes}});
  std::weak_ptr<int> life = life_;
  client_.send_to_leader<ApiKey::produce>(
      config_.heartbeats_topic, 0, std::move(req),
      [this, life, bytes](client::KafkaResult<protocol::ProduceResponse> r) {
        if (life.expired()) return;
        if (!r) {
          failed("Produce: " + r.error().to_string(), !r.error().from_broker());
          return;
        }
        if (hooks_.link_ok) hooks_.link_ok();
        for (const auto& t : r->responses) {
          for (const auto& p : t.partition_responses) {
            const auto code = static_cast<ErrorCode>(p.error_code);
            if (code == ErrorCode::none) {
              pending_ = false;
              ++sent_;
              last_ok_ms_ = clock_.now_ms();
              last_error_.clear();
              return;
            }
            if (code == ErrorCode::unknown_topic_or_partition) topic_ready_ = false;
            if (client::Client::is_leader_error(code)) {
              client_.invalidate_metadata(config_.heartbeats_topic);
            }
            failed("Produce: " + client::KafkaError::broker(code).to_string(), false);
            return;
          }
        }
        failed("Produce: the answer does not name the partition", false);
      });
}

}  // namespace ferry::mirror
