// Consumer: offsets lookups, long-poll fetches per leader, record decoding, commits; group
// membership is its GroupMember's. Loop thread only (see consumer.h).
#include "client/consumer.h"

#include <algorithm>
#include <set>
#include <utility>

#include "client/assignors.h"
#include "client/consumer_protocol.h"
#include "protocol/record_batch.h"

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;

std::string as_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::optional<std::string> as_string(const std::optional<std::span<const std::byte>>& b) {
  if (!b) return std::nullopt;
  return as_string(*b);
}

}  // namespace

Consumer::Consumer(Client& client, ConsumerConfig config)
    : client_(client),
      config_(std::move(config)),
      wake_(client.loop()),
      defer_(client.loop()),
      commit_timer_(client.loop()) {}

Consumer::~Consumer() = default;

// ---- deferred callbacks -------------------------------------------------------------------------

void Consumer::post(std::function<void()> fn) {
  posted_.push_back(std::move(fn));
  if (!defer_.active()) defer_.start(0, [this] { run_posted(); });
}

void Consumer::run_posted() {
  std::weak_ptr<int> alive = life_;
  auto batch = std::move(posted_);
  posted_.clear();
  for (auto& fn : batch) {
    fn();
    if (alive.expired()) return;  // a callback destroyed the consumer
  }
}

void Consumer::notify_records() {
  if (records_notified_ || buffered_ == 0) return;
  records_notified_ = true;
  post([this] {
    records_notified_ = false;
    if (buffered_ > 0 && on_records_) on_records_();
  });
}

void Consumer::report(const KafkaError& e, bool always) {
  if (e.retriable() && !config_.report_retriable && !always) return;
  post([this, e] {
    if (on_error_) on_error_(e);
  });
}

// ---- assignment and positions -------------------------------------------------------------------

void Consumer::set_assignment(const std::vector<TopicPartition>& partitions) {
  std::map<TopicPartition, Part> next;
  for (const auto& tp : partitions) {
    auto it = parts_.find(tp);
    if (it != parts_.end()) {
      next[tp] = std::move(it->second);
      parts_.erase(it);
    } else {
      Part& p = next[tp];
      p.need_committed = config_.group_id.has_value();
    }
  }
  for (auto& [tp, p] : parts_) buffered_ -= p.buffer.size();
  parts_ = std::move(next);
  schedule_soon(0);
}

void Consumer::assign(const std::vector<TopicPartition>& partitions) { set_assignment(partitions); }

void Consumer::seek(const TopicPartition& tp, SeekTarget target) {
  auto it = parts_.find(tp);
  if (it == parts_.end()) {
    report(KafkaError::local(ErrorCode::unknown_topic_or_partition,
                             "seek: " + to_string(tp) + " is not assigned"));
    return;
  }
  Part& p = it->second;
  buffered_ -= p.buffer.size();
  p.buffer.clear();
  ++p.epoch;
  p.busy = false;
  p.stopped = false;
  p.need_committed = false;
  p.retry_at = 0;
  if (target.kind == SeekTarget::Kind::offset) {
    p.position = target.value;
    p.pending.reset();
  } else {
    p.position = -1;
    p.pending = target;
  }
  schedule_soon(0);
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, p] : parts_) out.push_back(tp);
  return out;
}

std::optional<Offset> Consumer::position(const TopicPartition& tp) const {
  auto it = parts_.find(tp);
  if (it == parts_.end() || it->second.position < 0 || it->second.pending) return std::nullopt;
  return Offset(it->second.position);
}

std::vector<ConsumerRecord> Consumer::poll(size_t max) {
  std::vector<ConsumerRecord> out;
  bool drained = false;
  for (auto& [tp, p] : parts_) {
    while (!p.buffer.empty() && out.size() < max) {
      p.consumed = p.buffer.front().offset.value() + 1;
      out.push_back(std::move(p.buffer.front()));
      p.buffer.pop_front();
      --buffered_;
    }
    if (p.buffer.empty()) drained = true;
    if (out.size() >= max) break;
  }
  if (drained && !closing_) schedule_soon(0);
  notify_records();  // what is left stays announced: nothing else would call on_records again
  return out;
}

// ---- leaders ------------------------------------------------------------------------------------

std::optional<NodeId> Consumer::leader_of(const TopicPartition& tp) const {
  if (refreshing_.count(tp.topic) != 0) return std::nullopt;
  const TopicMetadata* t = client_.cached_topic(tp.topic);
  if (t == nullptr || t->error_code != 0) return std::nullopt;
  for (const auto& p : t->partitions) {
    if (p.partition == tp.partition) {
      if (p.error_code != 0 || p.leader.value() < 0) return std::nullopt;
      return p.leader;
    }
  }
  return std::nullopt;
}

void Consumer::refresh_metadata() {
  if (!refreshing_.empty()) {
    metadata_wanted_ = true;
    return;
  }
  const uint64_t now = uv_now(client_.loop());
  if (last_metadata_ms_ != 0 && now < last_metadata_ms_ + config_.retry_backoff_ms) {
    metadata_wanted_ = true;
    schedule_soon(last_metadata_ms_ + config_.retry_backoff_ms - now);
    return;
  }
  std::set<std::string> topics;
  for (const auto& [tp, p] : parts_) topics.insert(tp.topic);
  if (topics.empty()) return;
  metadata_wanted_ = false;
  last_metadata_ms_ = now;
  refreshing_ = topics;
  for (const auto& topic : topics) {
    // Stale first, so that the cache asks the cluster rather than answering from memory.
    client_.invalidate_metadata(topic);
    client_.topic_metadata(topic, guard([this, topic](KafkaResult<TopicMetadata> r) {
                             refreshing_.erase(topic);
                             if (closing_) return;
                             if (!r) report(r.error());
                             if (refreshing_.empty()) schedule_soon(0);
                           }));
  }
}

// ---- fetching -----------------------------------------------------------------------------------

void Consumer::schedule_soon(uint64_t delay_ms) {
  const uint64_t due = uv_now(client_.loop()) + delay_ms;
  if (wake_.active() && wake_due_ <= due) return;
  wake_due_ = due;
  wake_.start(delay_ms, [this] { schedule(); });
}

void Consumer::retry_later(Part& part) {
  part.retry_at = uv_now(client_.loop()) + config_.retry_backoff_ms;
}

void Consumer::schedule() {
  if (closing_) return;
  const uint64_t now = uv_now(client_.loop());
  uint64_t next_retry = 0;
  bool need_metadata = metadata_wanted_;
  bool need_committed = false;
  std::map<NodeId, bool> has_work;
  for (auto& [tp, p] : parts_) {
    if (p.stopped || p.busy) continue;
    if (p.retry_at > now) {
      next_retry = next_retry == 0 ? p.retry_at : std::min(next_retry, p.retry_at);
      continue;
    }
    if (p.need_committed) {
      need_committed = true;
      continue;
    }
    if (p.position < 0 && !p.pending) {
      // No committed offset (or none asked for): auto.offset.reset decides.
      switch (config_.auto_offset_reset) {
        case OffsetReset::earliest: p.pending = SeekTarget::earliest(); break;
        case OffsetReset::latest: p.pending = SeekTarget::latest(); break;
        case OffsetReset::none:
          p.stopped = true;
          report(KafkaError::local(
              ErrorCode::offset_out_of_range,
              "no offset to start " + to_string(tp) + " from and auto.offset.reset is none"));
          continue;
      }
    }
    auto leader = leader_of(tp);
    if (!leader) {
      need_metadata = true;
      continue;
    }
    if (p.pending || p.buffer.empty()) has_work[*leader] = true;
  }
  if (need_metadata) refresh_metadata();
  if (need_committed) fetch_committed();
  resolve_offsets();
  for (const auto& [node, yes] : has_work) {
    if (!fetching_[node]) send_fetch(node);
  }
  if (next_retry != 0) schedule_soon(next_retry - now);
}

void Consumer::resolve_offsets() {
  const uint64_t now = uv_now(client_.loop());
  std::map<NodeId, protocol::ListOffsetsRequest> by_leader;
  std::map<NodeId, std::vector<std::pair<TopicPartition, uint64_t>>> sent;
  for (auto& [tp, p] : parts_) {
    if (!p.pending || p.busy || p.stopped || p.retry_at > now) continue;
    auto leader = leader_of(tp);
    if (!leader) continue;
    auto& req = by_leader[*leader];
    topic_entry(req.topics, tp.topic, &protocol::ListOffsetsRequest::Topic::name);
    protocol::ListOffsetsRequest::Topic::Partition lp;
    lp.partition_index = tp.partition;
    switch (p.pending->kind) {
      case SeekTarget::Kind::earliest: lp.timestamp = kEarliest; break;
      case SeekTarget::Kind::latest: lp.timestamp = kLatest; break;
      default: lp.timestamp = p.pending->value; break;
    }
    req.topics.back().partitions.push_back(lp);
    p.busy = true;
    sent[*leader].emplace_back(tp, p.epoch);
  }
  for (auto& [node, req] : by_leader) {
    client_.send_to_node<ApiKey::list_offsets>(
        node, std::move(req),
        guard([this, asked = std::move(sent[node])](KafkaResult<protocol::ListOffsetsResponse> r) {
          if (closing_) return;
          std::map<TopicPartition, const protocol::ListOffsetsResponse::Topic::Partition*> got;
          if (r) {
            for (const auto& t : r->topics)
              for (const auto& p : t.partitions) got[{t.name, p.partition_index}] = &p;
          } else {
            report(r.error());
            refresh_metadata();
          }
          for (const auto& [tp, epoch] : asked) {
            auto it = parts_.find(tp);
            if (it == parts_.end() || it->second.epoch != epoch) continue;
            Part& part = it->second;
            part.busy = false;
            auto g = got.find(tp);
            if (g == got.end()) {
              retry_later(part);
              continue;
            }
            const auto& lp = *g->second;
            const auto code = static_cast<ErrorCode>(lp.error_code);
            if (code != ErrorCode::none) {
              if (Client::is_leader_error(code)) {
                refresh_metadata();
              } else {
                report(KafkaError::broker(code, "list offsets of " + to_string(tp)));
              }
              retry_later(part);
              continue;
            }
            int64_t off = lp.offset;
            if (off < 0 && !lp.old_style_offsets.empty()) off = lp.old_style_offsets.front();
            if (off < 0 && part.pending->kind == SeekTarget::Kind::timestamp) {
              part.pending = SeekTarget::latest();  // nothing at or after that time
              continue;
            }
            if (off < 0) {
              retry_later(part);
              continue;
            }
            part.pending.reset();
            part.position = off;
          }
          schedule_soon(0);
        }));
  }
}

void Consumer::fetch_committed() {
  if (committed_lookup_ || !config_.group_id) return;
  protocol::OffsetFetchRequest req;
  req.group_id = *config_.group_id;
  std::vector<std::pair<TopicPartition, uint64_t>> asked;
  for (auto& [tp, p] : parts_) {
    if (!p.need_committed || p.busy) continue;
    topic_entry(*req.topics, tp.topic, &protocol::OffsetFetchRequest::Topic::name);
    req.topics->back().partition_indexes.push_back(tp.partition);
    p.busy = true;
    asked.emplace_back(tp, p.epoch);
  }
  if (asked.empty()) return;
  committed_lookup_ = true;
  client_.send_to_coordinator<ApiKey::offset_fetch>(
      *config_.group_id, std::move(req),
      guard([this, asked = std::move(asked)](KafkaResult<protocol::OffsetFetchResponse> r) {
        committed_lookup_ = false;
        if (closing_) return;
        std::optional<KafkaError> failed;
        if (!r) {
          failed = r.error();
        } else if (r->error_code != 0) {
          failed = KafkaError::broker(r->error_code, "offset fetch");
        }
        std::map<TopicPartition, const protocol::OffsetFetchResponse::Topic::Partition*> got;
        if (!failed) {
          for (const auto& t : r->topics)
            for (const auto& p : t.partitions) got[{t.name, p.partition_index}] = &p;
        } else {
          report(*failed);
        }
        for (const auto& [tp, epoch] : asked) {
          auto it = parts_.find(tp);
          if (it == parts_.end() || it->second.epoch != epoch) continue;
          Part& part = it->second;
          part.busy = false;
          auto g = got.find(tp);
          if (g == got.end() || g->second->error_code != 0) {
            if (g != got.end()) report(KafkaError::broker(g->second->error_code));
            retry_later(part);
            continue;
          }
          part.need_committed = false;
          if (g->second->committed_offset >= 0) {
            part.position = g->second->committed_offset;
            part.consumed = part.position;
            part.committed = part.position;
          }
        }
        schedule_soon(0);
      }));
}

void Consumer::send_fetch(NodeId node) {
  const uint64_t now = uv_now(client_.loop());
  protocol::FetchRequest req;
  req.max_wait_ms = config_.fetch_max_wait_ms;
  req.min_bytes = config_.fetch_min_bytes;
  req.max_bytes = config_.fetch_max_bytes;
  std::vector<std::pair<TopicPartition, uint64_t>> asked;
  for (auto& [tp, p] : parts_) {
    if (p.stopped || p.busy || p.need_committed || p.pending || p.position < 0 ||
        !p.buffer.empty() || p.retry_at > now)
      continue;
    auto leader = leader_of(tp);
    if (!leader || *leader != node) continue;
    topic_entry(req.topics, tp.topic, &protocol::FetchRequest::Topic::topic);
    protocol::FetchRequest::Topic::Partition fp;
    fp.partition = tp.partition;
    fp.fetch_offset = p.position;
    fp.partition_max_bytes = config_.max_partition_fetch_bytes;
    req.topics.back().partitions.push_back(fp);
    p.busy = true;
    asked.emplace_back(tp, p.epoch);
  }
  if (asked.empty()) return;
  fetching_[node] = true;
  client_.send_to_node<ApiKey::fetch>(
      node, std::move(req),
      guard([this, node, asked = std::move(asked)](KafkaResult<protocol::FetchResponse> r) {
        fetching_[node] = false;
        if (closing_) return;
        std::optional<KafkaError> failed;
        if (!r) {
          failed = r.error();
        } else if (r->error_code != 0) {
          failed = KafkaError::broker(r->error_code, "fetch");
        }
        if (failed) {
          report(*failed);
          refresh_metadata();
        } else {
          // The records view the response frame: decode them here, during the callback.
          for (const auto& t : r->responses)
            for (const auto& p : t.partitions) {
              const TopicPartition tp{t.topic, p.partition_index};
              auto a = std::find_if(asked.begin(), asked.end(),
                                    [&](const auto& x) { return x.first == tp; });
              if (a != asked.end()) on_fetch_partition(tp, a->second, p);
            }
        }
        // Partitions the answer left out (or a failed request) are retried after a pause.
        for (const auto& [tp, epoch] : asked) {
          auto it = parts_.find(tp);
          if (it == parts_.end() || it->second.epoch != epoch || !it->second.busy) continue;
          it->second.busy = false;
          retry_later(it->second);
        }
        notify_records();
        schedule_soon(0);
      }));
}

void Consumer::on_fetch_partition(const TopicPartition& tp, uint64_t epoch,
                                  const protocol::FetchResponse::Topic::Partition& p) {
  auto it = parts_.find(tp);
  if (it == parts_.end() || it->second.epoch != epoch) return;
  Part& part = it->second;
  part.busy = false;
  const auto code = static_cast<ErrorCode>(p.error_code);
  if (code == ErrorCode::offset_out_of_range) {
    if (config_.auto_offset_reset == OffsetReset::none) {
      part.stopped = true;
      report(KafkaError::broker(code, "fetch " + to_string(tp) + " at offset " +
                                          std::to_string(part.position) +
                                          " and auto.offset.reset is none"));
    } else {
      part.position = -1;
      part.pending = config_.auto_offset_reset == OffsetReset::earliest ? SeekTarget::earliest()
                                                                        : SeekTarget::latest();
    }
    return;
  }
  if (Client::is_leader_error(code)) {
    refresh_metadata();
    retry_later(part);
    if (config_.report_retriable) report(KafkaError::broker(code, "fetch " + to_string(tp)));
    return;
  }
  if (code != ErrorCode::none) {
    report(KafkaError::broker(code, "fetch " + to_string(tp)));
    retry_later(part);
    return;
  }
  part.high_watermark = p.high_watermark;
  if (!p.records.data) return;
  std::span<const std::byte> data = *p.records.data;
  std::vector<std::byte> scratch;
  size_t pos = 0;
  while (pos < data.size()) {
    auto size = protocol::declared_batch_size(data.subspan(pos));
    if (!size || *size > data.size() - pos) break;  // a partial batch at the end: normal
    protocol::BatchView batch(data.subspan(pos, *size));
    pos += *size;
    if (batch.size() < protocol::batch_layout::kHeaderSize || batch.magic() != protocol::kMagicV2) {
      part.stopped = true;
      report(KafkaError::local(ErrorCode::unsupported_version,
                               "fetch " + to_string(tp) + ": a batch with magic " +
                                   std::to_string(batch.magic()) + " at offset " +
                                   std::to_string(batch.base_offset().value())));
      return;
    }
    if (protocol::compute_batch_crc(batch.bytes()) != batch.crc()) {
      report(KafkaError::local(ErrorCode::corrupt_message,
                               "fetch " + to_string(tp) + ": bad CRC in the batch at offset " +
                                   std::to_string(batch.base_offset().value())),
             true);
      retry_later(part);
      return;
    }
    if (batch.next_offset().value() <= part.position) continue;
    if (!batch.is_control()) {
      auto records = protocol::decode_records(batch, scratch);
      if (!records) {
        report(KafkaError::local(ErrorCode::corrupt_message, records.error()), true);
        retry_later(part);
        return;
      }
      const bool append_time =
          (batch.attributes() & protocol::batch_attr::kTimestampTypeLogAppend) != 0;
      for (const auto& rec : *records) {
        const int64_t offset = batch.base_offset().value() + rec.offset_delta;
        if (offset < part.position) continue;  // a batch that starts below the fetch offset
        ConsumerRecord out;
        out.topic = tp.topic;
        out.partition = tp.partition;
        out.offset = Offset(offset);
        out.log_append_time = append_time;
        out.timestamp =
            append_time ? batch.max_timestamp() : batch.base_timestamp() + rec.timestamp_delta;
        out.key = as_string(rec.key);
        out.value = as_string(rec.value);
        for (const auto& h : rec.headers)
          out.headers.emplace_back(as_string(h.key), as_string(h.value));
        part.buffer.push_back(std::move(out));
        ++buffered_;
      }
    }
    part.position = std::max(part.position, batch.next_offset().value());
  }
}

// ---- commits ------------------------------------------------------------------------------------

void Consumer::commit(std::function<void(KafkaStatus)> done) { do_commit(std::move(done)); }

void Consumer::do_commit(std::function<void(KafkaStatus)> done) {
  if (!config_.group_id) {
    post([done = std::move(done)] {
      done(KafkaError::local(ErrorCode::invalid_group_id, "commit without a group.id"));
    });
    return;
  }
  protocol::OffsetCommitRequest req;
  req.group_id = *config_.group_id;
  const bool member = group_ && group_->stable();
  req.generation_id_or_member_epoch = member ? group_->generation() : -1;
  req.member_id = member ? group_->member_id() : "";
  std::vector<std::pair<TopicPartition, int64_t>> sent;
  for (const auto& [tp, p] : parts_) {
    if (p.consumed < 0 || p.consumed == p.committed) continue;
    topic_entry(req.topics, tp.topic, &protocol::OffsetCommitRequest::Topic::name);
    protocol::OffsetCommitRequest::Topic::Partition cp;
    cp.partition_index = tp.partition;
    cp.committed_offset = p.consumed;
    req.topics.back().partitions.push_back(cp);
    sent.emplace_back(tp, p.consumed);
  }
  if (sent.empty()) {
    post([done = std::move(done)] { done(Unit{}); });
    return;
  }
  client_.send_to_coordinator<ApiKey::offset_commit>(
      *config_.group_id, std::move(req),
      guard([this, sent = std::move(sent),
             done = std::move(done)](KafkaResult<protocol::OffsetCommitResponse> r) {
        if (!r) {
          done(std::move(r).error());
          return;
        }
        std::optional<KafkaError> first;
        for (const auto& t : r->topics) {
          for (const auto& p : t.partitions) {
            const TopicPartition tp{t.name, p.partition_index};
            if (p.error_code != 0) {
              if (!first) first = KafkaError::broker(p.error_code, "commit " + to_string(tp));
              continue;
            }
            auto s = std::find_if(sent.begin(), sent.end(),
                                  [&](const auto& x) { return x.first == tp; });
            auto it = parts_.find(tp);
            if (s != sent.end() && it != parts_.end()) it->second.committed = s->second;
          }
        }
        if (first) {
          const auto c = first->code();
          if (Client::is_coordinator_error(c)) client_.forget_coordinator(*config_.group_id);
          if (group_ && !closing_ &&
              (c == ErrorCode::illegal_generation || c == ErrorCode::unknown_member_id ||
               c == ErrorCode::rebalance_in_progress)) {
            group_->rejoin(c != ErrorCode::rebalance_in_progress);
          }
          done(std::move(*first));
          return;
        }
        done(Unit{});
      }));
}

void Consumer::auto_commit() {
  if (!config_.enable_auto_commit || !config_.group_id || closing_) return;
  commit_timer_.start(config_.auto_commit_interval_ms, [this] {
    do_commit([this](KafkaStatus st) {
      if (!st) report(st.error());
    });
    auto_commit();
  });
}

// ---- group membership ---------------------------------------------------------------------------

void Consumer::subscribe(std::vector<std::string> topics) {
  if (!config_.group_id) {
    report(KafkaError::local(ErrorCode::invalid_group_id, "subscribe needs a group.id"));
    return;
  }
  GroupMemberConfig gc;
  gc.group_id = *config_.group_id;
  gc.assignor = config_.assignor;
  gc.session_timeout_ms = config_.session_timeout_ms;
  gc.rebalance_timeout_ms = config_.rebalance_timeout_ms;
  gc.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  gc.retry_backoff_ms = config_.retry_backoff_ms;
  GroupMember::Events events;
  events.revoke = [this] { on_revoke(); };
  events.assigned = [this](const std::vector<TopicPartition>& mine) { on_assigned(mine); };
  events.error = [this](const KafkaError& e) { report(e); };
  group_ = std::make_unique<GroupMember>(client_, std::move(gc), std::move(events));
  auto_commit();
  group_->join(std::move(topics));
}

void Consumer::on_revoke() {
  if (config_.enable_auto_commit && group_->stable()) {
    // Pipelined ahead of JoinGroup on the coordinator's connection, with the old generation.
    do_commit([](KafkaStatus) {});
  }
  const bool had = !parts_.empty();
  set_assignment({});
  if (had) {
    post([this] {
      if (on_assignment_) on_assignment_({});
    });
  }
}

void Consumer::on_assigned(const std::vector<TopicPartition>& partitions) {
  set_assignment(partitions);
  post([this, partitions] {
    if (on_assignment_) on_assignment_(partitions);
  });
}

void Consumer::close(std::function<void()> done) {
  if (closing_) {
    post(std::move(done));
    return;
  }
  auto leave = [this, done = std::move(done)]() mutable {
    closing_ = true;
    wake_.stop();
    commit_timer_.stop();
    if (!group_) {
      post(std::move(done));
      return;
    }
    group_->leave(guard(std::move(done)));
  };
  if (config_.group_id && config_.enable_auto_commit) {
    do_commit(guard([this, leave = std::move(leave)](KafkaStatus st) mutable {
      if (!st) report(st.error());
      leave();
    }));
  } else {
    leave();
  }
}

}  // namespace ferry::client
