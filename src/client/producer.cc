// Producer: partitioning, per-partition batching, ordered sending with retries, and the
// idempotent producer's sequences and epoch bumps.
#include "client/producer.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <functional>

namespace ferry::client {

using protocol::ApiKey;
using protocol::ErrorCode;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Bytes a record adds to a batch, roughly: its data plus the per-record varints.
size_t record_size(const ProducerRecord& r) {
  size_t n = 16 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& [k, v] : r.headers) n += 4 + k.size() + (v ? v->size() : 0);
  return n;
}

// The errors after which an idempotent producer bumps its epoch and restarts its sequences.
bool sequence_error(ErrorCode c) {
  return c == ErrorCode::out_of_order_sequence_number || c == ErrorCode::unknown_producer_id ||
         c == ErrorCode::invalid_producer_epoch;
}

}  // namespace

uint32_t murmur2(std::span<const std::byte> data) noexcept {
  const uint32_t m = 0x5bd1e995;
  const size_t length = data.size();
  uint32_t h = 0x9747b28cU ^ static_cast<uint32_t>(length);
  auto at = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data[i])); };
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = at(i4) + (at(i4 + 1) << 8) + (at(i4 + 2) << 16) + (at(i4 + 3) << 24);
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3: h ^= at(tail + 2) << 16; [[fallthrough]];
    case 2: h ^= at(tail + 1) << 8; [[fallthrough]];
    case 1:
      h ^= at(tail);
      h *= m;
      break;
    default: break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t murmur2_partition(std::string_view key, int32_t partitions) noexcept {
  if (partitions <= 0) return 0;
  const auto h = murmur2(std::as_bytes(std::span<const char>(key.data(), key.size())));
  return static_cast<int32_t>((h & 0x7fffffffU) % static_cast<uint32_t>(partitions));
}

Producer::Producer(Client& client, ProducerOptions options)
    : client_(client),
      options_(options),
      random_(static_cast<std::minstd_rand::result_type>(uv_hrtime())) {
  options_.max_in_flight = std::clamp(options_.max_in_flight, 1, 5);
  if (options_.idempotent) options_.acks = -1;  // as Kafka requires
  if (options_.batch_size == 0) options_.batch_size = 1;
  if (options_.max_request_size == 0) options_.max_request_size = 1;
  outbox_timer_ = std::make_unique<UvTimer>(client_.loop());
}

Producer::~Producer() = default;

void Producer::after(uint64_t ms, std::function<void()> fn) {
  timers_.push_back(std::make_unique<UvTimer>(client_.loop()));
  auto it = std::prev(timers_.end());
  // UvTimer runs a copy of this callback: erasing the timer inside it is safe.
  (*it)->start(ms, [this, it, fn = std::move(fn)] {
    timers_.erase(it);
    fn();
  });
}

Producer::Partition& Producer::partition(const std::string& topic, int32_t index) {
  auto& slot = partitions_[{topic, index}];
  if (!slot) {
    slot = std::make_unique<Partition>();
    slot->topic = topic;
    slot->index = index;
    slot->linger = std::make_unique<UvTimer>(client_.loop());
    slot->backoff = std::make_unique<UvTimer>(client_.loop());
  }
  return *slot;
}

void Producer::produce(ProducerRecord record, DeliveryCallback done) {
  ++pending_;
  if (record.timestamp_ms < 0) record.timestamp_ms = wall_ms();
  if (auto refused = refusal()) {
    after(0, [this, topic = record.topic, e = *refused, done = std::move(done)] {
      if (done) done({topic, -1, e, 1});
      --pending_;
      check_flush();
    });
    return;
  }
  if (record.partition) {
    Partition& p = partition(record.topic, *record.partition);
    append(p, std::move(record), std::move(done));
    return;
  }
  // Nothing of this topic waits for metadata and the cache knows it: choose now (the common
  // case, without a trip through the waiting queue).
  if (auto it = unassigned_.find(record.topic); it == unassigned_.end() || it->second.empty()) {
    if (const TopicMetadata* m = client_.cached_topic(record.topic);
        m != nullptr && m->error_code == 0 && !m->partitions.empty()) {
      const int32_t index = choose_partition(record, static_cast<int32_t>(m->partitions.size()));
      record.partition = index;
      Partition& p = partition(record.topic, index);  // before `record` is moved from
      append(p, std::move(record), std::move(done));
      return;
    }
  }
  auto& waiting = unassigned_[record.topic];
  const std::string topic = record.topic;
  waiting.push_back({std::move(record), std::move(done), uv_now(client_.loop())});
  if (waiting.size() == 1) assign_partitions(topic);
}

int32_t Producer::choose_partition(const ProducerRecord& record, int32_t partitions) {
  if (record.key) return murmur2_partition(*record.key, partitions);
  auto it = sticky_.find(record.topic);
  if (it == sticky_.end()) {
    std::uniform_int_distribution<int32_t> pick(0, partitions - 1);
    it = sticky_.emplace(record.topic, pick(random_)).first;
  }
  return it->second;
}

void Producer::assign_partitions(const std::string& topic) {
  // From the cache without waiting when it knows the topic: records keep their order.
  auto assign = [this, topic](const TopicMetadata& m) {
    auto waiting = std::move(unassigned_[topic]);
    unassigned_.erase(topic);
    const auto n = static_cast<int32_t>(m.partitions.size());
    for (auto& u : waiting) {
      const int32_t index = choose_partition(u.record, n);
      u.record.partition = index;
      append(partition(topic, index), std::move(u.record), std::move(u.done));
    }
  };
  if (const TopicMetadata* m = client_.cached_topic(topic);
      m != nullptr && m->error_code == 0 && !m->partitions.empty()) {
    assign(*m);
    return;
  }
  std::weak_ptr<int> life = life_;
  client_.topic_metadata(topic, [this, life, topic, assign](KafkaResult<TopicMetadata> m) {
    if (life.expired()) return;
    auto it = unassigned_.find(topic);
    if (it == unassigned_.end() || it->second.empty()) return;
    if (m && !m->partitions.empty()) {
      assign(*m);
      return;
    }
    const KafkaError e =
        m ? KafkaError::broker(ErrorCode::leader_not_available, topic) : std::move(m).error();
    const uint64_t now = uv_now(client_.loop());
    // Retriable (the topic is being created, the broker is restarting): try again until the
    // oldest record's delivery timeout.
    if (e.retriable() && now - it->second.front().created_ms + options_.retry_backoff_ms <
                             options_.delivery_timeout_ms) {
      client_.invalidate_metadata(topic);
      after(options_.retry_backoff_ms, [this, topic] {
        if (unassigned_.count(topic) != 0) assign_partitions(topic);
      });
      return;
    }
    auto waiting = std::move(it->second);
    unassigned_.erase(it);
    for (auto& u : waiting) {
      if (u.done) u.done({topic, -1, e, 1});
      --pending_;
    }
    check_flush();
  });
}

void Producer::append(Partition& p, ProducerRecord record, DeliveryCallback done) {
  const size_t size = record_size(record);
  if (p.open && p.open->size + size > options_.batch_size) close_open(p);
  if (!p.open) {
    p.open = std::make_unique<Batch>();
    p.open->serial = p.next_serial++;
    p.open->created_ms = uv_now(client_.loop());
    // About as many records as the last batch held: no regrowing while it fills.
    p.open->records.reserve(p.last_record_count);
    p.open->reports.reserve(p.last_record_count);
  }
  p.open->records.push_back(std::move(record));
  p.open->reports.push_back(std::move(done));
  p.open->size += size;
  ++p.open->record_count;
  if (p.open->size >= options_.batch_size) {
    close_open(p);
    pump(p);
  } else if (!p.linger->active()) {
    // Lingered long enough: pump() closes and sends it if the partition may send now, else the
    // batch keeps filling until a response lets the partition send again.
    p.linger->start(options_.linger_ms, [this, &p] { pump(p); });
  }
}

void Producer::produce_batch(std::string topic, int32_t partition_index,
                             std::vector<std::byte> batch, DeliveryCallback done) {
  ++pending_;
  auto refused = refusal();
  const auto declared = protocol::declared_batch_size(batch);
  if (refused || batch.size() < protocol::batch_layout::kHeaderSize || declared != batch.size()) {
    KafkaError e =
        refused ? *refused
                : KafkaError::local(ErrorCode::corrupt_message, "not one complete record batch");
    after(0, [this, topic, partition_index, e, done = std::move(done)] {
      if (done) done({topic, partition_index, e, 0});
      --pending_;
      check_flush();
    });
    return;
  }
  Partition& p = partition(topic, partition_index);
  close_open(p);  // records queued before keep their place
  auto b = std::make_unique<Batch>();
  b->serial = p.next_serial++;
  b->created_ms = uv_now(client_.loop());
  b->prebuilt = true;
  b->record_count = protocol::BatchView(batch).record_count();
  b->size = batch.size();
  b->reports.push_back(std::move(done));
  protocol::set_base_offset(batch, Offset(0));
  b->bytes = std::make_shared<std::vector<std::byte>>(std::move(batch));
  p.ready.push_back(std::move(b));
  pump(p);
}

void Producer::close_open(Partition& p) {
  if (!p.open) return;
  p.linger->stop();
  p.last_record_count = std::min<size_t>(p.open->records.size(), 65536);
  p.ready.push_back(std::move(p.open));
  if (auto it = sticky_.find(p.topic); it != sticky_.end() && it->second == p.index)
    sticky_.erase(it);  // the next null-key record picks another partition
}

void Producer::flush(std::function<void()> done) {
  for (auto& [key, p] : partitions_) close_open(*p);
  flush_waiters_.push_back(std::move(done));
  pump_all();
  after(0, [this] { check_flush(); });
}

void Producer::close(std::function<void()> done) {
  closed_ = true;
  flush(std::move(done));
}

std::optional<KafkaError> Producer::refusal() const {
  if (fatal_) return fatal_;
  if (closed_) return KafkaError::local(ErrorCode::unknown_server_error, "the producer is closed");
  return std::nullopt;
}

void Producer::check_flush() {
  if (pending_ != 0 || flush_waiters_.empty()) return;
  auto waiters = std::move(flush_waiters_);
  flush_waiters_.clear();
  for (auto& w : waiters) w();
}

void Producer::pump_all() {
  for (auto& [key, p] : partitions_) pump(*p);
}

void Producer::pump(Partition& p) {
  if (p.draining || (p.ready.empty() && !p.open)) return;
  const uint64_t now = uv_now(client_.loop());
  // The open batch is sendable once it has lingered (a full one is closed by append()).
  auto open_due = [&] { return p.open && now - p.open->created_ms >= options_.linger_ms; };
  if (p.ready.empty() && !open_due()) return;
  if (options_.idempotent) {
    if (!have_id_ || need_bump_) {
      init_producer_id();
      return;
    }
  }
  if (p.retry_at_ms > now) {
    if (!p.backoff->active()) p.backoff->start(p.retry_at_ms - now, [this, &p] { pump(p); });
    return;
  }
  const size_t limit = options_.idempotent ? static_cast<size_t>(options_.max_in_flight) : 1;
  while (p.in_flight.size() < limit && !p.draining) {
    if (p.ready.empty()) {
      if (!open_due()) break;
      close_open(p);
    }
    send(p);
  }
}

void Producer::send(Partition& p) {
  std::unique_ptr<Batch> owned = std::move(p.ready.front());
  p.ready.pop_front();
  Batch& b = *owned;
  ++b.attempts;
  if (!b.bytes) {
    std::vector<protocol::RecordInput> inputs;
    inputs.reserve(b.records.size());
    for (const auto& r : b.records) {
      protocol::RecordInput in;
      if (r.key) in.key = std::string_view(*r.key);
      if (r.value) in.value = std::string_view(*r.value);
      in.timestamp_ms = r.timestamp_ms;
      for (const auto& [k, v] : r.headers) {
        in.headers.emplace_back(k, v ? std::optional<std::string_view>(*v) : std::nullopt);
      }
      inputs.push_back(std::move(in));
    }
    protocol::BuildOptions bo;
    bo.compression = options_.compression;
    auto built = protocol::build_batch(inputs, bo);
    if (!built) {
      p.in_flight.push_back(std::move(owned));
      ++in_flight_;
      Batch* sent = p.in_flight.back().get();
      after(0, [this, &p, sent, e = built.error()] {
        on_result(p, sent, KafkaError::local(ErrorCode::corrupt_message, e));
      });
      return;
    }
    b.bytes = std::make_shared<std::vector<std::byte>>(std::move(built).value());
    b.records.clear();  // the batch holds them now
    b.records.shrink_to_fit();
  }
  if (options_.idempotent) {
    if (b.epoch != epoch_ || b.base_sequence < 0) {
      b.epoch = epoch_;
      b.base_sequence = p.next_sequence;
      // Sequences wrap at INT32_MAX to 0, as the broker's do.
      const int64_t next = int64_t{p.next_sequence} + b.record_count;
      p.next_sequence = static_cast<int32_t>(next > INT32_MAX ? next - INT32_MAX - 1 : next);
    }
    protocol::set_producer_fields(*b.bytes, ProducerId(producer_id_), b.epoch, b.base_sequence);
  } else if (b.prebuilt && b.attempts == 1) {
    protocol::set_producer_fields(*b.bytes, ProducerId(-1), -1, -1);
  }

  p.in_flight.push_back(std::move(owned));
  ++in_flight_;
  Batch* sent = &b;
  std::weak_ptr<int> life = life_;
  client_.leader(
      p.topic, p.index, [this, life, &p, sent, bytes = b.bytes](KafkaResult<NodeId> node) mutable {
        if (life.expired()) return;
        if (!node) {
          // Keep completions off the caller's stack (the cache may answer at once).
          after(0, [this, &p, sent, e = std::move(node).error()] { on_result(p, sent, e); });
          return;
        }
        queue_outgoing(*node, {&p, sent, std::move(bytes)});
      });
}

void Producer::queue_outgoing(NodeId node, Outgoing o) {
  outbox_[node].push_back(std::move(o));
  if (!outbox_timer_->active()) outbox_timer_->start(0, [this] { send_outbox(); });
}

void Producer::send_outbox() {
  auto outbox = std::move(outbox_);
  outbox_.clear();
  for (auto& [node, batches] : outbox) {
    // Each request holds a partition at most once; a partition's later batch goes into a later
    // request (sent after, on the same connection), so its batches stay in order.
    std::sort(batches.begin(), batches.end(), [](const Outgoing& a, const Outgoing& b) {
      if (a.partition != b.partition)
        return std::less<const Partition*>()(a.partition, b.partition);
      return a.batch->serial < b.batch->serial;
    });
    struct Pending {
      std::vector<Outgoing> batches;
      size_t bytes = 0;
    };
    std::vector<Pending> requests;
    std::map<const Partition*, size_t> next_request;  // the first request a partition may join
    for (auto& o : batches) {
      size_t r = next_request[o.partition];
      const size_t size = o.bytes->size();
      while (r < requests.size() && !requests[r].batches.empty() &&
             requests[r].bytes + size > options_.max_request_size) {
        ++r;
      }
      if (r == requests.size()) requests.emplace_back();
      requests[r].batches.push_back(std::move(o));
      requests[r].bytes += size;
      next_request[requests[r].batches.back().partition] = r + 1;
    }
    for (auto& req : requests) send_request(node, std::move(req.batches));
  }
}

void Producer::send_request(NodeId node, std::vector<Outgoing> batches) {
  protocol::ProduceRequest req;
  req.acks = options_.acks;
  req.timeout_ms = options_.request_timeout_ms;
  for (const auto& o : batches) {
    const Partition& p = *o.partition;
    if (req.topic_data.empty() || req.topic_data.back().name != p.topic) {
      auto same = std::find_if(req.topic_data.begin(), req.topic_data.end(),
                               [&](const auto& t) { return t.name == p.topic; });
      if (same == req.topic_data.end()) {
        req.topic_data.push_back({p.topic, {}});
      } else {
        std::rotate(same, same + 1, req.topic_data.end());  // the topic's entry goes last
      }
    }
    req.topic_data.back().partition_data.push_back({p.index, protocol::RecordsRef{*o.bytes}});
  }
  // The callbacks hold the bytes (in `batches`): the request views them until it is encoded.
  auto shared = std::make_shared<std::vector<Outgoing>>(std::move(batches));
  std::weak_ptr<int> life = life_;
  // Reports each batch's outcome while the producer lives (a report may not destroy it, but a
  // completion may close the client's connections).
  auto each = [this, life, shared](auto&& outcome) {
    for (const auto& o : *shared) {
      if (life.expired()) return;
      on_result(*o.partition, o.batch, outcome(o));
    }
  };
  if (options_.acks == 0) {
    client_.send_oneway_to_node<ApiKey::produce>(
        node, std::move(req), [each](KafkaStatus st) mutable {
          each([&](const Outgoing&) -> KafkaResult<Offset> {
            if (!st) return st.error();
            return Offset(-1);
          });
        });
    return;
  }
  client_.send_to_node<ApiKey::produce>(
      node, std::move(req), [each](KafkaResult<protocol::ProduceResponse> r) mutable {
        each([&](const Outgoing& o) -> KafkaResult<Offset> {
          if (!r) return r.error();
          const Partition& p = *o.partition;
          for (const auto& t : r->responses) {
            if (t.name != p.topic) continue;
            for (const auto& part : t.partition_responses) {
              if (part.index != p.index) continue;
              const auto code = static_cast<ErrorCode>(part.error_code);
              if (code == ErrorCode::none) return Offset(part.base_offset);
              // Written before: a success (older brokers answer it without the offset).
              if (code == ErrorCode::duplicate_sequence_number)
                return Offset(part.base_offset >= 0 ? part.base_offset : -1);
              return KafkaError::broker(code, part.error_message.value_or(""));
            }
          }
          return KafkaError::local(
              ErrorCode::corrupt_message,
              "the Produce response does not name " + p.topic + "/" + std::to_string(p.index));
        });
      });
}

void Producer::on_result(Partition& p, Batch* sent, KafkaResult<Offset> base_offset) {
  auto it = std::find_if(p.in_flight.begin(), p.in_flight.end(),
                         [sent](const auto& b) { return b.get() == sent; });
  if (it == p.in_flight.end()) return;
  std::unique_ptr<Batch> b = std::move(*it);
  p.in_flight.erase(it);
  --in_flight_;

  if (base_offset) {
    finish(p, std::move(b), base_offset);
  } else {
    const KafkaError& e = base_offset.error();
    const ErrorCode code = e.code();
    const bool earlier_failed = p.draining;
    p.draining = true;
    if (Client::is_leader_error(code) || !e.from_broker()) client_.invalidate_metadata(p.topic);
    const uint64_t now = uv_now(client_.loop());
    const bool in_time =
        now - b->created_ms + options_.retry_backoff_ms < options_.delivery_timeout_ms;
    if (options_.idempotent && sequence_error(code)) {
      // After an earlier failure, OUT_OF_ORDER_SEQUENCE_NUMBER only says that batch is missing:
      // resend with the same sequence. Otherwise the producer's state is off: bump the epoch.
      if (!(earlier_failed && code == ErrorCode::out_of_order_sequence_number)) need_bump_ = true;
      if (in_time) {
        p.retry.push_back(std::move(b));
      } else {
        finish(p, std::move(b), base_offset);
      }
    } else if ((e.retriable() || !e.from_broker()) && e.code() != ErrorCode::corrupt_message &&
               in_time) {
      p.retry.push_back(std::move(b));
    } else {
      // Failed for good; an idempotent producer now has a gap in its sequences.
      if (options_.idempotent) need_bump_ = true;
      finish(p, std::move(b), base_offset);
    }
  }
  if (p.draining && p.in_flight.empty()) drained(p);
  if (need_bump_) {
    if (in_flight_ == 0) init_producer_id();
  } else {
    pump(p);
  }
  check_flush();
}

void Producer::finish(Partition& p, std::unique_ptr<Batch> b,
                      const KafkaResult<Offset>& base_offset) {
  if (b->prebuilt) {
    if (b->reports[0]) b->reports[0]({p.topic, p.index, base_offset, b->record_count});
  } else {
    for (size_t i = 0; i < b->reports.size(); ++i) {
      if (!b->reports[i]) continue;
      if (base_offset && base_offset->value() >= 0) {
        b->reports[i]({p.topic, p.index, *base_offset + static_cast<int64_t>(i), 1});
      } else {
        b->reports[i]({p.topic, p.index, base_offset, 1});
      }
    }
  }
  pending_ -= b->prebuilt ? 1 : b->reports.size();
}

// Every batch of a stopped partition is back: the failed ones go first again, in order.
void Producer::drained(Partition& p) {
  std::sort(p.retry.begin(), p.retry.end(),
            [](const auto& a, const auto& b) { return a->serial < b->serial; });
  for (auto it = p.retry.rbegin(); it != p.retry.rend(); ++it) p.ready.push_front(std::move(*it));
  p.retry.clear();
  p.draining = false;
  p.retry_at_ms = uv_now(client_.loop()) + options_.retry_backoff_ms;
}

void Producer::init_producer_id() {
  if (init_in_flight_ || fatal_) return;
  if (have_id_ && in_flight_ != 0) return;  // a bump waits for every partition to drain
  init_in_flight_ = true;
  protocol::InitProducerIdRequest req;
  req.transactional_id.reset();
  req.transaction_timeout_ms = -1;
  // v3+: the current id and epoch ask for a bump; older versions drop them and re-init.
  req.producer_id = producer_id_;
  req.producer_epoch = epoch_;
  std::weak_ptr<int> life = life_;
  client_.send_any<ApiKey::init_producer_id>(
      std::move(req), [this, life](KafkaResult<protocol::InitProducerIdResponse> r) {
        if (life.expired()) return;
        init_in_flight_ = false;
        std::optional<KafkaError> e;
        if (!r) {
          e = std::move(r).error();
        } else if (r->error_code != 0) {
          e = KafkaError::broker(r->error_code);
        }
        if (e) {
          if (e->retriable() || !e->from_broker()) {
            expire_queued(*e);
            after(options_.retry_backoff_ms, [this] { init_producer_id(); });
          } else if (producer_id_ >= 0) {
            // The broker would not bump this id: start over with a new one.
            producer_id_ = -1;
            epoch_ = -1;
            after(options_.retry_backoff_ms, [this] { init_producer_id(); });
          } else {
            fail_everything(*e);
          }
          return;
        }
        producer_id_ = r->producer_id;
        epoch_ = r->producer_epoch;
        have_id_ = true;
        need_bump_ = false;
        for (auto& [key, p] : partitions_) {
          p->next_sequence = 0;
          for (auto& b : p->ready) b->base_sequence = -1;
        }
        pump_all();
      });
}

void Producer::expire_queued(const KafkaError& e) {
  const uint64_t now = uv_now(client_.loop());
  for (auto& [key, p] : partitions_) {
    if (p->open && now - p->open->created_ms >= options_.delivery_timeout_ms) close_open(*p);
    while (!p->ready.empty() &&
           now - p->ready.front()->created_ms >= options_.delivery_timeout_ms) {
      auto b = std::move(p->ready.front());
      p->ready.pop_front();
      finish(*p, std::move(b), e);
    }
  }
  check_flush();
}

void Producer::fail_everything(const KafkaError& e) {
  fatal_ = e;
  for (auto& [key, p] : partitions_) {
    close_open(*p);
    while (!p->ready.empty()) {
      auto b = std::move(p->ready.front());
      p->ready.pop_front();
      finish(*p, std::move(b), e);
    }
  }
  check_flush();
}

}  // namespace ferry::client
