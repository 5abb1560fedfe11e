// Mirror: the per-partition forwarding state machine, reconciliation with the target, producer
// ids and checkpoints in meta.db, the link's status. See mirror.h and docs/mirror.md.
#include "mirror/mirror.h"

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#include "client/admin.h"
#include "client/client.h"
#include "client/security.h"
#include "common/log.h"
#include "mirror/heartbeat.h"
#include "mirror/leader_pin.h"
#include "mirror/lost_target.h"
#include "mirror/offset_map.h"
#include "mirror/offset_record.h"
#include "mirror/reconcile.h"
#include "mirror/sequence.h"
#include "mirror/target_fetch.h"
#include "protocol/record_batch.h"

namespace ferry::mirror {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

constexpr uint64_t kTopicPollMs = 1000;

std::string state_name(int s) {
  static const char* const kNames[] = {"starting", "reconciling", "forwarding", "stopped"};
  return kNames[s];
}

// Errors that mean the target no longer knows this producer as the mirror used it: take a new
// producer id (never an epoch bump: Kafka wants sequence 0 after a bump).
bool needs_new_producer(ErrorCode c) {
  return c == ErrorCode::out_of_order_sequence_number || c == ErrorCode::unknown_producer_id ||
         c == ErrorCode::invalid_producer_epoch || c == ErrorCode::producer_fenced;
}

}  // namespace

bool reconciliation_disabled() {
  const char* v = std::getenv("FERRY_MIRROR_UNSAFE_NO_RECONCILE");
  return v != nullptr && std::string_view(v) == "1";
}

struct Mirror::InFlight {
  uint64_t serial = 0;
  Offset base{0};
  Offset next{0};
  uint32_t bytes = 0;  // the batch's stored size
  bool done = false;
  std::optional<int64_t> target_next;  // set on success
  int32_t node = -1;                   // the broker it went to (leader_pin.h); -1: not yet known
};

struct Mirror::Link {
  storage::TopicPartition tp;
  std::string target_topic;
  State state = State::starting;
  int64_t state_since_ms = 0;
  Offset acked{0};            // source offset after the last acknowledged batch
  int64_t acked_target = -1;  // target offset after it; -1: not known yet
  bool has_checkpoint = false;
  Offset next{0};  // next source offset to send
  std::deque<InFlight> in_flight;
  bool uncertain = false;     // a request failed or its outcome is unknown: reconcile
  bool need_new_pid = false;  // the target refused the producer, or a source gap
  int64_t pid = -1;           // producer id of the requests in flight
  int16_t epoch = 0;
  Offset seq_next{-1};  // source offset after the last batch sent with `pid`; -1: none
  bool checkpointing = false;
  bool checkpoint_again = false;
  OffsetTracker offsets;  // the offset map rows to record (offset_map.h)
  // A resend started here: the next checkpoint deletes the offset map's rows from it on.
  std::optional<Offset> drop_rows_from;
  // Consecutive retries of its set-up or reconciliation (0 once forwarding), and when the next
  // one is due: each waits longer, up to reconnect.backoff.max.ms, even while the link is fine
  // (a target topic deleted for good fails every retry of its partitions).
  int retries = 0;
  int64_t retry_due_ms = 0;
  bool removed = false;
  std::string error;
  std::string lost;  // set when an acknowledgement showed the target lost records
  // Counters for the status (since start).
  int64_t bytes_sent = 0;
  int64_t records_sent = 0;
  int64_t last_ack_ms = 0;
  int64_t target_lost = 0;
  int64_t records_resent = 0;
  std::unique_ptr<UvTimer> timer;
  uint64_t id = 0;       // the scheduler's name for it
  int32_t priority = 0;  // `priorities`
};

Mirror::Mirror(uv_loop_t* loop, config::MirrorConfig config, int32_t node_id,
               broker::TopicManager& topics, meta::MetaStore& meta, const Clock& clock)
    : loop_(loop),
      config_(std::move(config)),
      node_id_(node_id),
      topics_(topics),
      meta_(meta),
      clock_(clock) {}

Mirror::~Mirror() = default;

Status Mirror::start() {
  link_since_ms_ = clock_.now_ms();
  if (!config_.enabled) {
    link_state_ = "disabled";
    return ok_status();
  }
  no_reconcile_ = reconciliation_disabled();
  if (no_reconcile_) {
    FERRY_LOG(warn, "mirror",
              "mirror %s: FERRY_MIRROR_UNSAFE_NO_RECONCILE=1: resending without reconciliation "
              "(duplicates; for tests only)",
              config_.name.c_str());
  }
  auto cps = meta_.mirror_checkpoints(config_.name);
  if (!cps) return std::move(cps).error();
  for (meta::MirrorCheckpoint& c : *cps) {
    storage::TopicPartition tp{c.topic, c.partition};
    checkpoints_[tp] = std::move(c);
  }
  auto ids = meta_.mirror_producer_ids(config_.name);
  if (!ids) return std::move(ids).error();
  for (const meta::MirrorProducerId& id : *ids) producer_ids_.insert(id.producer_id.value());

  client::ConnectionOptions options;
  options.client_id = "ferry-mirror-" + config_.name;
  options.request_timeout_ms = static_cast<uint64_t>(config_.request_timeout_ms);
  options.watchdog_timeout_ms = static_cast<uint64_t>(config_.watchdog_timeout_ms);
  std::optional<client::SaslConfig> sasl_config;
  if (config_.security_protocol.rfind("SASL_", 0) == 0) {
    client::SaslConfig sasl;
    sasl.mechanism =
        config_.sasl_mechanism == "SCRAM-SHA-256"   ? client::SaslMechanism::scram_sha_256
        : config_.sasl_mechanism == "SCRAM-SHA-512" ? client::SaslMechanism::scram_sha_512
                                                    : client::SaslMechanism::plain;
    sasl.username = config_.sasl_username;
    sasl.password = config_.sasl_password;
    if (!config_.sasl_password_file.empty()) {
      std::ifstream in(config_.sasl_password_file, std::ios::binary);
      if (!in) {
        return Error(Errc::io, "mirror " + config_.name + ": sasl.password.file: cannot read " +
                                   config_.sasl_password_file);
      }
      std::stringstream text;
      text << in.rdbuf();
      sasl.password = text.str();
      while (!sasl.password.empty() &&
             (sasl.password.back() == '\n' || sasl.password.back() == '\r')) {
        sasl.password.pop_back();
      }
    }
    sasl_config = std::move(sasl);
  }
  // TLS (SSL, SASL_SSL) and the SASL settings through the client's one place for librdkafka's
  // security properties; a certificate file that does not load fails the start here.
  client::SecurityProperties security;
  security.protocol = config_.security_protocol;
  security.ca_location = config_.ssl_ca_location;
  security.certificate_location = config_.ssl_certificate_location;
  security.key_location = config_.ssl_key_location;
  security.endpoint_identification = config_.ssl_endpoint_identification;
  if (auto st = client::apply_security(security, std::move(sasl_config), options); !st) {
    return Error(st.error().code(), "mirror " + config_.name + ": " + st.error().message());
  }
  client::ClientOptions client_options;
  client_options.reconnect_backoff_ms = static_cast<uint64_t>(config_.reconnect_backoff_ms);
  client_options.reconnect_backoff_max_ms = static_cast<uint64_t>(config_.reconnect_backoff_max_ms);
  client_options.reconnect_jitter = config_.reconnect_backoff_jitter;
  client_options.allow_auto_topic_creation = false;
  // Every listed server, tried in turn until one answers (the client's bootstrap fallback).
  std::vector<client::BrokerAddress> bootstrap;
  std::string servers;
  for (const std::string& server : config_.bootstrap_servers) {
    Result<config::HostPort> hp = config::parse_host_port(server);
    if (!hp) return std::move(hp).error();
    bootstrap.push_back({hp->host, hp->port});
    servers += (servers.empty() ? "" : ",") + server;
  }
  client_ = std::make_unique<client::Client>(loop_, std::move(bootstrap), std::move(options),
                                             client_options);

  poll_timer_ = std::make_unique<UvTimer>(loop_);
  pump_timer_ = std::make_unique<UvTimer>(loop_);
  flow_timer_ = std::make_unique<UvTimer>(loop_);
  const auto rate = static_cast<uint64_t>(config_.bandwidth_bytes_per_second);
  bucket_ =
      std::make_unique<TokenBucket>(rate, TokenBucket::default_burst(rate), clock_.steady_ms());
  poll_topics();
  new_producer_id();
  schedule_pump();
  start_heartbeat();
  FERRY_LOG(info, "mirror", "mirror %s: forwarding to %s (%zu partitions now)",
            config_.name.c_str(), servers.c_str(), links_.size());
  return ok_status();
}

void Mirror::stop(std::function<void()> done) {
  stopping_ = true;
  poll_timer_.reset();
  pump_timer_.reset();
  flow_timer_.reset();
  for (auto& [tp, l] : links_) l->timer.reset();
  producer_timer_.reset();
  heartbeat_.reset();
  if (client_) client_->close();
  stop_timer_ = std::make_unique<UvTimer>(loop_);
  stop_timer_->start(0, std::move(done));
}

void Mirror::schedule_pump() {
  std::weak_ptr<int> life = life_;
  pump_timer_->start(static_cast<uint64_t>(std::max(config_.linger_ms, 1)), [this, life] {
    if (life.expired() || stopping_) return;
    pump();
    schedule_pump();
  });
}

// ---- topics ----------------------------------------------------------------------------------

void Mirror::poll_topics() {
  if (stopping_) return;
  bool added = false;
  for (const auto& [name, topic] : topics_.topics()) {
    if (topic.deleting || !config::mirror_matches(config_, name)) continue;
    for (size_t p = 0; p < topic.partitions.size(); ++p) {
      storage::TopicPartition tp{name, PartitionId(static_cast<int32_t>(p))};
      if (links_.count(tp) != 0) continue;
      add_partition(name, static_cast<int32_t>(p));
      added = true;
    }
  }
  for (auto it = links_.begin(); it != links_.end();) {
    if (topics_.find(it->first.topic) == nullptr && it->second->in_flight.empty()) {
      it->second->removed = true;
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
  if (added && partitions_changed_) partitions_changed_();
  std::weak_ptr<int> life = life_;
  if (poll_timer_) {
    poll_timer_->start(kTopicPollMs, [this, life] {
      if (!life.expired()) poll_topics();
    });
  }
}

void Mirror::add_partition(const std::string& topic, int32_t partition) {
  auto l = std::make_shared<Link>();
  l->tp = {topic, PartitionId(partition)};
  l->target_topic = config::target_topic_name(config_, topic, node_id_);
  l->id = ++link_ids_;
  l->priority = config::topic_priority(config_, topic);
  l->state_since_ms = clock_.now_ms();
  l->timer = std::make_unique<UvTimer>(loop_);
  auto cp = checkpoints_.find(l->tp);
  if (cp != checkpoints_.end()) {
    l->acked = cp->second.source_offset;
    l->acked_target = cp->second.target_offset;
    l->has_checkpoint = true;
  } else if (auto part = topics_.partition(topic, partition)) {
    l->acked =
        config_.start_position == "latest" ? part->high_watermark() : part->log_start_offset();
  }
  l->next = l->acked;
  l->offsets.start(last_offset_row(meta_, config_.name, l->tp));
  links_[l->tp] = l;
  prepare(l);
}

// Looks up (or creates) the target topic, then records a first checkpoint or reconciles.
void Mirror::prepare(const std::shared_ptr<Link>& l) {
  if (stopping_ || l->removed) return;
  l->state = State::starting;
  std::weak_ptr<int> life = life_;
  client_->topic_metadata(l->target_topic, [this, life,
                                            l](client::KafkaResult<client::TopicMetadata> md) {
    if (life.expired() || stopping_ || l->removed) return;
    if (md) {
      link_ok();
      if (md->partitions.size() <= static_cast<size_t>(l->tp.partition.value())) {
        grow_target(l, md->partitions.size());
        return;
      }
      if (l->has_checkpoint && l->acked_target >= 0) {
        reconcile(l);
      } else {
        record_first_checkpoint(l);
      }
      return;
    }
    const client::KafkaError& e = md.error();
    if (e.code() == ErrorCode::unknown_topic_or_partition && config_.create_target_topics) {
      const broker::Topic* source = topics_.find(l->tp.topic);
      if (source == nullptr) return;
      client::Admin admin(*client_);
      client::NewTopic nt;
      nt.name = l->target_topic;
      nt.partitions = static_cast<int32_t>(source->partitions.size());
      nt.replication_factor = config_.target_replication_factor;
      admin.create_topics(
          {nt}, false, [this, life, l](client::KafkaResult<std::vector<client::TopicOutcome>> r) {
            if (life.expired() || stopping_) return;
            if (!r) {
              link_failed("CreateTopics " + l->target_topic + ": " + r.error().to_string());
            } else if (!r->empty() && r->front().error &&
                       r->front().error->code() != ErrorCode::topic_already_exists) {
              l->error = "CreateTopics " + l->target_topic + ": " + r->front().error->to_string();
            } else {
              FERRY_LOG(info, "mirror", "mirror %s: created target topic %s", config_.name.c_str(),
                        l->target_topic.c_str());
            }
            client_->invalidate_metadata(l->target_topic);
            retry_later(l, [this, l] { prepare(l); });
          });
      return;
    }
    if (!e.from_broker()) link_failed(e.to_string());
    l->error = "Metadata " + l->target_topic + ": " + e.to_string();
    client_->invalidate_metadata(l->target_topic);
    retry_later(l, [this, l] { prepare(l); });
  });
}

// The source has more partitions than the target topic: with target.topics.create the target
// grows to the source's count (CreatePartitions); without it the partition waits.
void Mirror::grow_target(const std::shared_ptr<Link>& l, size_t target_partitions) {
  const broker::Topic* source = topics_.find(l->tp.topic);
  l->error = "the target topic " + l->target_topic + " has " + std::to_string(target_partitions) +
             " partitions";
  client_->invalidate_metadata(l->target_topic);
  if (source == nullptr || !config_.create_target_topics) {
    retry_later(l, [this, l] { prepare(l); });
    return;
  }
  std::weak_ptr<int> life = life_;
  client::Admin admin(*client_);
  admin.create_partitions(
      {{l->target_topic, static_cast<int32_t>(source->partitions.size())}}, false,
      [this, life, l](client::KafkaResult<std::vector<client::TopicOutcome>> r) {
        if (life.expired() || stopping_) return;
        if (!r) {
          link_failed("CreatePartitions " + l->target_topic + ": " + r.error().to_string());
        } else if (!r->empty() && r->front().error) {
          l->error = "CreatePartitions " + l->target_topic + ": " + r->front().error->to_string();
        } else {
          FERRY_LOG(info, "mirror", "mirror %s: added partitions to target topic %s",
                    config_.name.c_str(), l->target_topic.c_str());
        }
        client_->invalidate_metadata(l->target_topic);
        retry_later(l, [this, l] { prepare(l); });
      });
}

// A partition seen for the first time: where the target ends now is where the mirror's batches
// will start; recorded before anything is sent, so a reconciliation always has a start.
void Mirror::record_first_checkpoint(const std::shared_ptr<Link>& l) {
  protocol::ListOffsetsRequest req;
  req.topics.push_back({l->target_topic, {}});
  protocol::ListOffsetsRequest::Topic::Partition p;
  p.partition_index = l->tp.partition.value();
  // A pre-version-6 checkpoint has no target offset: scan the target from its start.
  p.timestamp = l->has_checkpoint ? -2 : -1;
  req.topics.back().partitions.push_back(p);
  std::weak_ptr<int> life = life_;
  client_->send_to_leader<ApiKey::list_offsets>(
      l->target_topic, l->tp.partition.value(), std::move(req),
      [this, life, l](client::KafkaResult<protocol::ListOffsetsResponse> r) {
        if (life.expired() || stopping_ || l->removed) return;
        std::optional<std::string> error;
        int64_t offset = -1;
        if (!r) {
          error = r.error().to_string();
          link_failed(*error);
        } else {
          link_ok();
          for (const auto& t : r->topics) {
            for (const auto& part : t.partitions) {
              if (part.error_code != 0) {
                error = client::KafkaError::broker(part.error_code).to_string();
                if (client::Client::is_leader_error(static_cast<ErrorCode>(part.error_code))) {
                  client_->invalidate_metadata(l->target_topic);
                }
              } else {
                offset = part.offset;
              }
            }
          }
          if (!error && offset < 0) error = "ListOffsets: no offset in the answer";
        }
        if (error) {
          l->error = "ListOffsets " + l->target_topic + ": " + *error;
          retry_later(l, [this, l] { prepare(l); });
          return;
        }
        l->acked_target = offset;
        meta::MirrorCheckpoint c{config_.name, l->tp.topic, l->tp.partition,
                                 l->acked,     offset,      clock_.now_ms()};
        meta_.submit({meta::Mutation::put_mirror_checkpoint(c)}, [this, life, l](Status st) {
          if (life.expired() || stopping_) return;
          if (!st) {
            l->error = "recording the first checkpoint: " + st.error().to_string();
            retry_later(l, [this, l] { prepare(l); });
            return;
          }
          l->has_checkpoint = true;
          reconcile(l);
        });
      });
}

// ---- reconciliation ----------------------------------------------------------------------------

void Mirror::reconcile(const std::shared_ptr<Link>& l) {
  if (stopping_ || l->removed) return;
  l->state = State::reconciling;
  l->state_since_ms = clock_.now_ms();
  if (no_reconcile_) {  // test-only: trust the local checkpoint alone (at least once)
    reconciled(l, l->acked, l->acked_target);
    return;
  }
  auto r = std::make_shared<Reconciler>(l->acked, l->acked_target, producer_ids_);
  fetch_target(l, std::move(r), l->acked_target);
}

void Mirror::fetch_target(const std::shared_ptr<Link>& l, std::shared_ptr<Reconciler> r,
                          int64_t from) {
  std::weak_ptr<int> life = life_;
  fetch_target_page(
      *client_, l->target_topic, l->tp.partition.value(), from,
      [this, life, l, r, from](client::KafkaResult<TargetPage> resp) {
        if (life.expired() || stopping_ || l->removed) return;
        if (!resp) {
          // A broker's answer (the topic unknown, say) is the partition's problem, not the link's.
          if (!resp.error().from_broker()) link_failed(resp.error().to_string());
          l->error = "Fetch " + l->target_topic + ": " + resp.error().to_string();
          retry_later(l, [this, l] { reconcile(l); });
          return;
        }
        link_ok();
        const TargetPage* part = &*resp;
        if (!part->named) {
          l->error = "Fetch " + l->target_topic + ": the answer does not name the partition";
          retry_later(l, [this, l] { reconcile(l); });
          return;
        }
        const auto code = static_cast<ErrorCode>(part->error_code);
        if (code == ErrorCode::offset_out_of_range) {
          target_lost(l, "the target " + l->target_topic + "/" +
                             std::to_string(l->tp.partition.value()) + " no longer holds offset " +
                             std::to_string(from) +
                             " recorded after an acknowledgement: it lost data, was "
                             "re-created, or its retention removed it");
          return;
        }
        if (code != ErrorCode::none) {
          if (client::Client::is_leader_error(code)) client_->invalidate_metadata(l->target_topic);
          l->error =
              "Fetch " + l->target_topic + ": " + client::KafkaError::broker(code).to_string();
          retry_later(l, [this, l] { reconcile(l); });
          return;
        }
        if (part->high_watermark < l->acked_target) {
          target_lost(l, "the target " + l->target_topic + "/" +
                             std::to_string(l->tp.partition.value()) + " ends at " +
                             std::to_string(part->high_watermark) + ", below the target offset " +
                             std::to_string(l->acked_target) +
                             " recorded after an acknowledgement: it lost data");
          return;
        }
        r->feed(part->batches);
        const int64_t next = part->next;
        if (next < part->high_watermark && next > from) {
          fetch_target(l, r, next);
          return;
        }
        if (next < part->high_watermark) {  // nothing returned below the high watermark
          l->error = "Fetch " + l->target_topic + ": no batch at offset " + std::to_string(from);
          retry_later(l, [this, l] { reconcile(l); });
          return;
        }
        if (r->problem()) {
          stop_partition(l, *r->problem());
          return;
        }
        if (r->found() > 0) {
          FERRY_LOG(info, "mirror",
                    "mirror %s: %s/%d: the target holds %d unrecorded batches of this mirror; "
                    "resuming at source offset %lld",
                    config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(), r->found(),
                    static_cast<long long>(r->resume_source().value()));
        }
        for (const auto& b : r->landed()) l->offsets.landed(b.base, b.next, b.target_next);
        reconciled(l, r->resume_source(), r->resume_target());
      });
}

void Mirror::reconciled(const std::shared_ptr<Link>& l, Offset source, int64_t target) {
  const bool moved = source != l->acked || target != l->acked_target;
  l->acked = source;
  l->acked_target = target;
  l->next = source;
  // What the target holds of the current producer id ends right before `source`, so resending
  // from there keeps its sequences contiguous (and a late duplicate is dropped by the target).
  l->seq_next = source;
  l->uncertain = false;
  l->error.clear();
  l->retries = 0;
  l->retry_due_ms = 0;
  l->state = State::forwarding;
  l->state_since_ms = clock_.now_ms();
  if (moved) checkpoint(l);
  pump();
}

void Mirror::stop_partition(const std::shared_ptr<Link>& l, const std::string& why) {
  l->state = State::stopped;
  l->state_since_ms = clock_.now_ms();
  l->error = why;
  last_error_ =
      config_.name + " " + l->tp.topic + "/" + std::to_string(l->tp.partition.value()) + ": " + why;
  last_error_ms_ = clock_.now_ms();
  FERRY_LOG(error, "mirror", "mirror %s: %s/%d: %s; forwarding of this partition stopped",
            config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(), why.c_str());
}

// target.lost.policy: `stop` stops the partition; `resend` scans the target for what it can
// still be shown to hold (lost_target.h) and forwards again, under a new producer id, everything
// the gateway holds from the first source offset it cannot.
void Mirror::target_lost(const std::shared_ptr<Link>& l, const std::string& why) {
  if (config_.target_lost_policy != "resend") {
    ++l->target_lost;
    stop_partition(l, why);
    return;
  }
  std::shared_ptr<broker::Partition> part = topics_.partition(l->tp.topic, l->tp.partition.value());
  if (!part) return;
  l->state = State::reconciling;
  l->state_since_ms = clock_.now_ms();
  l->error = why;
  last_error_ =
      config_.name + " " + l->tp.topic + "/" + std::to_string(l->tp.partition.value()) + ": " + why;
  last_error_ms_ = clock_.now_ms();
  FERRY_LOG(error, "mirror",
            "mirror %s: %s/%d: %s; target.lost.policy = resend: scanning the target for what it "
            "still holds",
            config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(), why.c_str());
  const Offset gateway_start = part->log_start_offset();
  UnshownFinder finder(producer_ids_, gateway_start, l->acked);
  std::weak_ptr<int> life = life_;
  scan_target(
      *client_, l->target_topic, l->tp.partition.value(), std::move(finder),
      [this, life, l, why, gateway_start](client::KafkaResult<TargetScan> scan) {
        if (life.expired() || stopping_ || l->removed) return;
        if (!scan) {
          if (!scan.error().from_broker()) link_failed(scan.error().to_string());
          l->error =
              "scanning " + l->target_topic + " after it lost data: " + scan.error().to_string();
          retry_later(l, [this, l, why] { target_lost(l, why); });
          return;
        }
        std::shared_ptr<broker::Partition> p =
            topics_.partition(l->tp.topic, l->tp.partition.value());
        const int64_t source_end = p ? p->high_watermark().value() : l->acked.value();
        const Offset from = std::min(scan->first_unshown, Offset(source_end));
        ++l->target_lost;
        l->records_resent += std::max<int64_t>(0, source_end - from.value());
        FERRY_LOG(error, "mirror",
                  "mirror %s: %s/%d: the target %s/%d (offsets %lld to %lld now) holds %d of this "
                  "mirror's batches, covering the gateway's records below source offset %lld; "
                  "RESENDING source offsets %lld to %lld (%lld records) under a new producer "
                  "id%s",
                  config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(),
                  l->target_topic.c_str(), l->tp.partition.value(),
                  static_cast<long long>(scan->start), static_cast<long long>(scan->end),
                  scan->found, static_cast<long long>(from.value()),
                  static_cast<long long>(from.value()), static_cast<long long>(source_end - 1),
                  static_cast<long long>(std::max<int64_t>(0, source_end - from.value())),
                  gateway_start.value() > 0 ? "; source offsets below the gateway's log start are "
                                              "no longer held and cannot be resent"
                                            : "");
        l->acked = from;
        l->acked_target = scan->end;
        l->next = from;
        l->seq_next = Offset(-1);
        // The offset map's rows from `from` on name target offsets the target lost.
        l->offsets.resend(from);
        l->drop_rows_from = l->drop_rows_from ? std::min(*l->drop_rows_from, from) : from;
        checkpoint(l);
        // Under a new producer id: the target may remember the old one with other sequences.
        new_producer_id();
        reconcile(l);
      });
}

// ---- forwarding ------------------------------------------------------------------------------

// The link's next batches, one at a time: the scheduler picks the partition (priorities, turns
// among equals; scheduler.h) and the token bucket says whether the link may send now
// (bandwidth.bytes.per.second; token_bucket.h). When it may not, a timer runs the pump again
// once it may.
void Mirror::pump() {
  if (stopping_ || pumping_) return;
  pumping_ = true;
  std::set<uint64_t> idle;  // partitions that turned out to have nothing to send in this pass
  std::vector<SchedulerCandidate> ready;
  std::vector<std::shared_ptr<Link>> ready_links;
  for (;;) {
    ready.clear();
    ready_links.clear();
    for (auto& [tp, l] : links_) {
      if (idle.count(l->id) == 0 && may_send(l)) {
        ready.push_back({l->id, l->priority});
        ready_links.push_back(l);
      }
    }
    if (ready.empty()) break;
    const int64_t now = clock_.steady_ms();
    if (!bucket_->may_send(now)) {
      std::weak_ptr<int> life = life_;
      flow_timer_->start(bucket_->wait_ms(now), [this, life] {
        if (!life.expired()) pump();
      });
      break;
    }
    const std::optional<uint64_t> id = scheduler_.pick(ready);
    const auto chosen = std::find_if(ready_links.begin(), ready_links.end(),
                                     [&](const std::shared_ptr<Link>& l) { return l->id == *id; });
    const uint64_t bytes = send_next(*chosen);
    if (bytes == 0) {
      idle.insert(*id);
    } else {
      bucket_->take(bytes, now);
    }
  }
  pumping_ = false;
}

// Whether `l` may send a batch now and has one below the high watermark and the durable offset.
bool Mirror::may_send(const std::shared_ptr<Link>& l) {
  if (l->removed || l->state != State::forwarding || l->uncertain || l->need_new_pid) return false;
  if (producer_id_ < 0) return false;  // a new id is on its way
  if (l->in_flight.empty() && l->pid != producer_id_) {
    l->pid = producer_id_;
    l->epoch = epoch_;
    l->seq_next = Offset(-1);
  }
  if (l->pid != producer_id_) return false;  // drains the old id's requests first
  if (l->in_flight.size() >= static_cast<size_t>(config_.max_in_flight)) return false;
  std::shared_ptr<broker::Partition> part = topics_.partition(l->tp.topic, l->tp.partition.value());
  return part && l->next < std::min(part->high_watermark(), part->durable_offset());
}

// Reads the stored batch at `l->next` and sends it (skipping control batches). Returns the bytes
// sent, 0 when nothing was (no batch yet, a source gap waiting for a new producer id, or the
// partition stopped).
uint64_t Mirror::send_next(const std::shared_ptr<Link>& l) {
  std::shared_ptr<broker::Partition> part = topics_.partition(l->tp.topic, l->tp.partition.value());
  if (!part) return 0;
  for (;;) {
    const Offset bound = std::min(part->high_watermark(), part->durable_offset());
    if (l->next >= bound) return 0;
    if (l->next < part->log_start_offset()) {
      // Deleted before it was forwarded: only the disk-full policy drop_oldest overrides the
      // floor, and it has counted and logged the range. Forwarding goes on from the new log
      // start; the gap in the source offsets takes a new producer id (below).
      FERRY_LOG(error, "mirror",
                "mirror %s: %s/%d: source offsets %" PRId64 " to %" PRId64
                " were deleted before they were forwarded (disk.full.policy=drop_oldest); "
                "continuing at %" PRId64,
                config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(), l->next.value(),
                part->log_start_offset().value() - 1, part->log_start_offset().value());
      last_error_ = config_.name + " " + l->tp.topic + "/" +
                    std::to_string(l->tp.partition.value()) + ": source offsets " +
                    std::to_string(l->next.value()) + " to " +
                    std::to_string(part->log_start_offset().value() - 1) +
                    " were deleted before they were forwarded";
      last_error_ms_ = clock_.now_ms();
      l->next = part->log_start_offset();
      continue;
    }
    // Exactly one batch (the first is returned whole whatever the size limit).
    Result<storage::ReadResult> read = part->read(l->next, 0);
    if (!read) {
      stop_partition(l, "reading the source log: " + read.error().to_string());
      return 0;
    }
    std::span<const std::byte> data = read->data;
    if (data.size() < protocol::batch_layout::kHeaderSize) return 0;
    const std::optional<size_t> size = protocol::declared_batch_size(data);
    if (!size || *size > data.size()) return 0;
    const protocol::BatchView b(data.first(*size));
    if (b.next_offset() > bound) return 0;
    if (b.base_offset() < l->next) {
      stop_partition(l, "the source log returned offset " +
                            std::to_string(b.base_offset().value()) + " for a read at " +
                            std::to_string(l->next.value()));
      return 0;
    }
    // Control batches and record-less ones (a new leader's epoch-start batch, a batch whose
    // records compaction removed) are skipped: a target refuses a produced batch without
    // records. The gap it leaves needs a new producer id.
    if (b.is_control() || b.record_count() == 0) {
      l->next = b.next_offset();
      continue;
    }
    if (l->seq_next.value() >= 0 && b.base_offset() != l->seq_next) {
      // A gap in the source offsets: the sequences would jump, so a new producer id.
      l->need_new_pid = true;
      if (l->in_flight.empty()) {
        l->need_new_pid = false;
        new_producer_id();
      }
      return 0;
    }
    std::vector<std::byte> bytes(b.bytes().begin(), b.bytes().end());
    protocol::set_base_offset(bytes, Offset(0));
    protocol::set_leader_epoch(bytes, LeaderEpoch(-1));
    protocol::set_producer_fields(bytes, ProducerId(l->pid), l->epoch,
                                  sequence_for(b.base_offset()));
    const uint64_t sent = bytes.size();
    send(l, std::move(bytes), b.base_offset(), b.next_offset());
    return sent;
  }
}

void Mirror::send(const std::shared_ptr<Link>& l, std::vector<std::byte> batch, Offset base,
                  Offset next) {
  const uint64_t serial = ++serial_;
  l->in_flight.push_back(
      InFlight{serial, base, next, static_cast<uint32_t>(batch.size()), false, std::nullopt, -1});
  l->seq_next = next;
  l->next = next;
  auto bytes = std::make_shared<std::vector<std::byte>>(std::move(batch));
  protocol::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = config_.request_timeout_ms;
  req.topic_data.push_back({l->target_topic, {}});
  req.topic_data.back().partition_data.push_back(
      {l->tp.partition.value(), protocol::RecordsRef{*bytes}});
  std::weak_ptr<int> life = life_;
  const int32_t delta = static_cast<int32_t>(next.value() - base.value() - 1);
  // The partition's requests in flight all go to one broker (leader_pin.h): one whose leader
  // differs from theirs, or that comes after a failed one, is not sent, counts as failed, and
  // the partition reconciles.
  auto admit = [this, life, l, serial](NodeId node) {
    if (life.expired() || stopping_) return false;
    if (l->uncertain) {
      on_answer(l, serial, std::nullopt, "Produce: not sent after a failed request", false);
      return false;
    }
    for (InFlight& f : l->in_flight) {
      if (f.serial == serial) {
        f.node = node.value();
      } else if (!f.done && f.node >= 0 && f.node != node.value()) {
        on_answer(l, serial, std::nullopt,
                  "Produce: the leader moved while requests were in flight", false);
        return false;
      }
    }
    return true;
  };
  send_to_leader_if<ApiKey::produce>(
      *client_, l->target_topic, l->tp.partition.value(), std::move(req), std::move(admit),
      [this, life, l, serial, bytes, delta](client::KafkaResult<protocol::ProduceResponse> r) {
        if (life.expired() || stopping_) return;
        if (!r) {
          link_failed(r.error().to_string());
          on_answer(l, serial, std::nullopt, "Produce: " + r.error().to_string(), false);
          return;
        }
        link_ok();
        for (const auto& t : r->responses) {
          for (const auto& p : t.partition_responses) {
            if (p.index != l->tp.partition.value()) continue;
            const auto code = static_cast<ErrorCode>(p.error_code);
            if (code == ErrorCode::none && p.base_offset >= 0) {
              on_answer(l, serial, p.base_offset + delta + 1, std::nullopt, false);
              return;
            }
            if (client::Client::is_leader_error(code)) {
              client_->invalidate_metadata(l->target_topic);
            }
            on_answer(l, serial, std::nullopt,
                      "Produce: " + client::KafkaError::broker(code).to_string(),
                      needs_new_producer(code));
            return;
          }
        }
        on_answer(l, serial, std::nullopt, "Produce: the answer does not name the partition",
                  false);
      });
}

void Mirror::on_answer(const std::shared_ptr<Link>& l, uint64_t serial,
                       std::optional<int64_t> target, std::optional<std::string> error,
                       bool new_producer) {
  for (InFlight& f : l->in_flight) {
    if (f.serial != serial) continue;
    f.done = true;
    f.target_next = target;
  }
  if (error) {
    l->uncertain = true;
    l->error = *error;
    if (new_producer) l->need_new_pid = true;
  }
  settle(l);
}

// Takes the acknowledged requests off the front in order; once every request of an uncertain
// partition is back, reconciles (after a backoff).
void Mirror::settle(const std::shared_ptr<Link>& l) {
  bool moved = false;
  while (!l->in_flight.empty() && l->in_flight.front().done && l->in_flight.front().target_next) {
    const InFlight& f = l->in_flight.front();
    const int64_t records = f.next.value() - f.base.value();
    if (l->acked_target >= 0 && *f.target_next - records < l->acked_target) {
      // Placed below what the target acknowledged before: its partition lost records (e.g.
      // deleted and re-created while the mirror had nothing to send).
      l->lost = "the target " + l->target_topic + "/" + std::to_string(l->tp.partition.value()) +
                " placed source offset " + std::to_string(f.base.value()) + " at target offset " +
                std::to_string(*f.target_next - records) + ", below the target offset " +
                std::to_string(l->acked_target) +
                " recorded after an acknowledgement: it lost data";
      l->uncertain = true;
      for (InFlight& g : l->in_flight) g.target_next.reset();  // not taken as acknowledged
      break;
    }
    l->acked = f.next;
    l->acked_target = *f.target_next;
    l->offsets.landed(f.base, l->acked, l->acked_target);
    l->bytes_sent += f.bytes;
    l->records_sent += records;
    l->last_ack_ms = clock_.now_ms();
    l->in_flight.pop_front();
    moved = true;
  }
  if (moved) checkpoint(l);
  if (l->removed) return;
  const bool all_back = std::all_of(l->in_flight.begin(), l->in_flight.end(),
                                    [](const InFlight& f) { return f.done; });
  if (l->uncertain && all_back) {
    l->in_flight.clear();
    l->next = l->acked;
    // Test-only control: resume from the local checkpoint under a new producer id, as an
    // at-least-once forwarder would; the target cannot deduplicate that.
    if (no_reconcile_) l->need_new_pid = true;
    if (l->need_new_pid) {
      l->need_new_pid = false;
      new_producer_id();
    }
    if (!l->lost.empty()) {
      const std::string why = std::move(l->lost);
      l->lost.clear();
      target_lost(l, why);
      return;
    }
    l->state = State::reconciling;
    retry_later(l, [this, l] { reconcile(l); });
    return;
  }
  if (!l->uncertain && l->in_flight.empty() && l->need_new_pid) {
    l->need_new_pid = false;
    new_producer_id();
    return;
  }
  pump();
}

void Mirror::checkpoint(const std::shared_ptr<Link>& l) {
  if (l->checkpointing) {
    l->checkpoint_again = true;
    return;
  }
  l->checkpointing = true;
  meta::MirrorCheckpoint c{config_.name, l->tp.topic,     l->tp.partition,
                           l->acked,     l->acked_target, clock_.now_ms()};
  // The offset map rows go in the same transaction: meta.db never holds a checkpoint past rows
  // it lacks.
  std::vector<meta::Mutation> writes;
  const std::optional<Offset> drop = l->drop_rows_from;
  l->drop_rows_from.reset();
  if (drop) writes.push_back(resend_offset_rows_mutation(config_.name, l->tp, *drop));
  std::vector<OffsetRow> rows = l->offsets.take_pending();
  if (!rows.empty()) writes.push_back(offset_rows_mutation(config_.name, l->tp, rows, topics_));
  writes.push_back(meta::Mutation::put_mirror_checkpoint(c));
  std::weak_ptr<int> life = life_;
  meta_.submit(std::move(writes), [this, life, l, drop, rows = std::move(rows)](Status st) mutable {
    if (life.expired()) return;
    l->checkpointing = false;
    if (!st) {
      l->offsets.restore(std::move(rows));
      if (drop) l->drop_rows_from = l->drop_rows_from ? std::min(*l->drop_rows_from, *drop) : *drop;
      FERRY_LOG_RATELIMITED(warn, "mirror", "checkpoint", "mirror %s: checkpoint of %s/%d: %s",
                            config_.name.c_str(), l->tp.topic.c_str(), l->tp.partition.value(),
                            st.error().to_string().c_str());
    }
    if (l->checkpoint_again && !stopping_) {
      l->checkpoint_again = false;
      checkpoint(l);
    }
  });
}

// ---- producer ids ----------------------------------------------------------------------------

void Mirror::new_producer_id() {
  if (producer_pending_ || stopping_) return;
  producer_pending_ = true;
  producer_id_ = -1;
  protocol::InitProducerIdRequest req;
  req.transactional_id.reset();
  req.transaction_timeout_ms = -1;
  std::weak_ptr<int> life = life_;
  client_->send_any<ApiKey::init_producer_id>(
      std::move(req), [this, life](client::KafkaResult<protocol::InitProducerIdResponse> r) {
        if (life.expired() || stopping_) return;
        auto again = [this, life] {
          if (!producer_timer_) producer_timer_ = std::make_unique<UvTimer>(loop_);
          producer_timer_->start(backoff_ms(failures_), [this, life] {
            if (life.expired() || stopping_) return;
            producer_pending_ = false;
            new_producer_id();
          });
        };
        if (!r || r->error_code != 0) {
          const std::string what =
              r ? client::KafkaError::broker(r->error_code).to_string() : r.error().to_string();
          if (!r) link_failed(what);
          last_error_ = "InitProducerId: " + what;
          last_error_ms_ = clock_.now_ms();
          again();
          return;
        }
        link_ok();
        const int64_t id = r->producer_id;
        const int16_t epoch = r->producer_epoch;
        meta::MirrorProducerId rec{config_.name, ProducerId(id), epoch, clock_.now_ms()};
        // Recorded before its first use: a reconciliation must recognise every batch it sent.
        meta_.submit({meta::Mutation::put_mirror_producer_id(rec)},
                     [this, life, id, epoch, again](Status st) {
                       if (life.expired() || stopping_) return;
                       if (!st) {
                         last_error_ = "recording producer id: " + st.error().to_string();
                         last_error_ms_ = clock_.now_ms();
                         again();
                         return;
                       }
                       producer_ids_.insert(id);
                       producer_id_ = id;
                       epoch_ = epoch;
                       producer_pending_ = false;
                       FERRY_LOG(info, "mirror", "mirror %s: producer id %lld epoch %d",
                                 config_.name.c_str(), static_cast<long long>(id), epoch);
                       pump();
                     });
      });
}

// ---- the link --------------------------------------------------------------------------------

void Mirror::link_ok() {
  failures_ = 0;
  if (link_state_ == "connected") return;
  link_state_ = "connected";
  link_since_ms_ = clock_.now_ms();
}

void Mirror::link_failed(const std::string& error) {
  ++failures_;
  last_error_ = error;
  last_error_ms_ = clock_.now_ms();
  if (link_state_ == "connected") ++reconnects_;
  if (link_state_ != "backing_off") {
    link_state_ = "backing_off";
    link_since_ms_ = clock_.now_ms();
  }
}

uint64_t Mirror::backoff_ms(int failures) {
  static thread_local std::minstd_rand random(std::random_device{}());
  const uint64_t lo = static_cast<uint64_t>(config_.reconnect_backoff_ms);
  const uint64_t hi = static_cast<uint64_t>(config_.reconnect_backoff_max_ms);
  uint64_t ms = lo;
  for (int i = 1; i < failures && ms < hi; ++i) ms *= 2;
  ms = std::min(ms, hi);
  const auto jitter = static_cast<uint64_t>(static_cast<double>(ms) *
                                            std::clamp(config_.reconnect_backoff_jitter, 0.0, 1.0));
  if (jitter > 0) ms = ms - jitter + random() % (2 * jitter + 1);
  return std::max<uint64_t>(ms, 1);
}

void Mirror::retry_later(const std::shared_ptr<Link>& l, std::function<void()> fn) {
  if (stopping_ || !l->timer) return;
  ++l->retries;
  const uint64_t ms = backoff_ms(std::max(failures_, l->retries));
  l->retry_due_ms = clock_.now_ms() + static_cast<int64_t>(ms);
  std::weak_ptr<int> life = life_;
  l->timer->start(ms, [this, life, fn = std::move(fn)] {
    if (life.expired() || stopping_) return;
    fn();
  });
}

void Mirror::start_heartbeat() {
  Heartbeat::Hooks hooks;
  hooks.summary = [this] {
    HeartbeatSummary h;
    for (const auto& [tp, l] : links_) {
      ++h.partitions;
      if (auto part = topics_.partition(tp.topic, tp.partition.value())) {
        h.records_behind += std::max<int64_t>(0, part->high_watermark().value() - l->acked.value());
      }
    }
    return h;
  };
  hooks.link_ok = [this] { link_ok(); };
  hooks.link_failed = [this](const std::string& e) { link_failed("heartbeat: " + e); };
  heartbeat_ = std::make_unique<Heartbeat>(loop_, *client_, config_, node_id_, clock_, hooks);
  heartbeat_->start();
}

// ---- floors and status -----------------------------------------------------------------------

std::vector<std::pair<storage::TopicPartition, Offset>> Mirror::floors() const {
  std::vector<std::pair<storage::TopicPartition, Offset>> out;
  if (!config_.enabled) return out;
  for (const auto& [tp, l] : links_) out.emplace_back(tp, l->acked);
  return out;
}

std::vector<StatusRow> Mirror::status() const {
  std::vector<StatusRow> out;
  StatusRow base;
  base.mirror = config_.name;
  base.link_state = link_state_;
  base.link_since_ms = link_since_ms_;
  base.reconnects = reconnects_;
  base.last_error = last_error_;
  base.last_error_ms = last_error_ms_;
  if (heartbeat_) {
    base.heartbeats_sent = heartbeat_->sent();
    base.heartbeat_ok_ms = heartbeat_->last_ok_ms();
  }
  const int64_t now = clock_.now_ms();
  for (const auto& [tp, l] : links_) {
    StatusRow r = base;
    r.topic = tp.topic;
    r.partition = tp.partition.value();
    r.target_topic = l->target_topic;
    r.state = state_name(static_cast<int>(l->state));
    r.forwarded = l->acked.value();
    r.target_offset = l->acked_target;
    r.bytes_sent = l->bytes_sent;
    r.records_sent = l->records_sent;
    r.last_ack_ms = l->last_ack_ms;
    r.target_lost = l->target_lost;
    r.records_resent = l->records_resent;
    if (!l->error.empty() && r.last_error.empty()) r.last_error = l->error;
    if (l->retries > 0 && (l->state == State::starting || l->state == State::reconciling) &&
        !l->error.empty()) {
      // The partition's own problem, retried with backoff: it says more than the link's.
      r.last_error =
          l->error + " (failed " + std::to_string(l->retries) + " times in a row; next try in " +
          std::to_string(std::max<int64_t>(0, l->retry_due_ms - clock_.now_ms())) + " ms)";
    }
    if (auto part = topics_.partition(tp.topic, tp.partition.value())) {
      r.source_end = part->high_watermark().value();
      r.records_behind = std::max<int64_t>(0, r.source_end - r.forwarded);
      if (r.records_behind > 0 && l->acked >= part->log_start_offset()) {
        r.bytes_behind = static_cast<int64_t>(part->log().bytes_from(l->acked));
      }
      if (r.records_behind > 0 && l->acked >= part->log_start_offset()) {
        // The age of the oldest unforwarded record: the first batch at the floor.
        Result<storage::ReadResult> first = part->read(l->acked, 1);
        if (first && first->data.size() >= protocol::batch_layout::kHeaderSize) {
          const protocol::BatchView b(first->data);
          r.seconds_behind = std::max<int64_t>(0, (now - b.base_timestamp()) / 1000);
        }
      }
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) out.push_back(base);
  return out;
}

}  // namespace ferry::mirror
