// append_partition: Produce's per-partition write path. See partition_append.h.
#include "broker/partition_append.h"

#include <uv.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "broker/broker.h"
#include "broker/compacted_keys.h"
#include "broker/disk_guard.h"
#include "broker/leader_encoding.h"
#include "broker/produce_idempotence.h"
#include "broker/produced_records.h"
#include "broker/recompress.h"
#include "common/log.h"
#include "protocol/batch_validator.h"
#include "protocol/record_batch.h"

namespace ferry::broker {
namespace {

using protocol::BatchCheck;
using protocol::BatchView;

// Compressed bytes in one partition's batches from which their records are checked on libuv's
// thread pool instead of the loop (docs/benchmarks.md has the cost per codec and size).
constexpr size_t kOffLoopBytes = 32u << 10;

const KafkaError kNotHosted{ErrorCode::unknown_topic_or_partition,
                            "This server does not host this topic-partition."};

}  // namespace

// One partition's share of a Produce request between validation and the write. The batches view
// the request frame (kept alive by `done`, which holds the request) or `records.converted`.
struct PendingAppend {
  uv_work_t req{};
  Broker* broker = nullptr;
  std::shared_ptr<Partition> partition;
  ProducedRecords records;
  bool durable = false;
  int64_t now_ms = 0;
  protocol::ProducedBatchLimits limits;
  config::TopicSettings settings;  // the topic's, when the append arrived
  std::function<void(AppendOutcome)> done;
  bool checked = false;  // the records check (and the codec rewrite) has completed
  KafkaError error;      // its outcome
  // Per batch, the form to store when the topic's compression.type rewrites it (else nullopt).
  std::vector<std::optional<std::vector<std::byte>>> encoded;

  void fail(KafkaError e) {
    if (!e.ok()) {
      FERRY_LOG(info, "produce", "%s-%d: refused a batch: %s", partition->topic().c_str(),
                partition->id().value(), e.message().c_str());
    }
    AppendOutcome o;
    o.error = std::move(e);
    done(std::move(o));
  }
};

namespace {

// The records check, then the codec rewrite of the batches the topic stores in another codec.
// Loop or thread pool: touches only `p`'s records, settings and results.
void check_and_encode(PendingAppend& p) {
  p.error = check_records(p.records, p.limits);
  if (!p.error.ok() || !p.settings.store_codec) return;
  p.encoded.resize(p.records.batches.size());
  for (size_t i = 0; i < p.records.batches.size(); ++i) {
    p.encoded[i] =
        encode_for_storage(p.records.batches[i], p.settings, p.limits.max_inflated_bytes);
  }
}

// Bytes of `records`' batches the topic's codec rewrite will re-encode.
size_t rewrite_bytes(const ProducedRecords& records, const config::TopicSettings& settings) {
  if (!settings.store_codec) return 0;
  size_t n = 0;
  for (auto b : records.batches) {
    if (BatchView(b).compression() != *settings.store_codec) n += b.size();
  }
  return n;
}

// The error for a batch the log refused. A batch its own check refuses (CRC, uncompressed
// records) is refused whole, with the code the full check gives, as Kafka would answer.
KafkaError append_error(Broker& broker, const Error& e, std::span<const std::byte> batch,
                        const protocol::ProducedBatchLimits& limits) {
  if (e.code() == Errc::no_space) broker.disk_guard().on_no_space();
  if (e.code() == Errc::corrupt) {
    const BatchCheck c = protocol::validate_produced_batch(batch, limits);
    if (!c.ok()) return fault_error(c);
  }
  return to_kafka_error(e);
}

// Completes `outcome` now (acks=1) or, for acks=all, once everything up to `end` is on disk
// (a single node; the log fires in offset order) or committed by the replicas
// (Commit::by_replication: the high watermark reached `end`, durable on a majority).
void complete_when_durable(PendingAppend& p, AppendOutcome outcome, Offset end) {
  if (!p.durable) {
    p.done(std::move(outcome));
    return;
  }
  if (p.partition->commit_mode() == Partition::Commit::by_replication) {
    p.partition->when_committed(end, [outcome, done = std::move(p.done)](KafkaError e) mutable {
      if (!e.ok()) outcome.error = std::move(e);
      done(std::move(outcome));
    });
    return;
  }
  p.partition->flush([outcome, done = std::move(p.done)](Status st) mutable {
    if (!st) outcome.error = to_kafka_error(st.error());
    done(std::move(outcome));
  });
}

// One partition's write job as the produce path sees it: the appends whose batches it carries,
// in queue order, each with its outcome so far and its idempotent batches to record.
struct JobAppend {
  std::shared_ptr<PendingAppend> append;
  AppendOutcome outcome;
  bool answered = false;  // failed while preparing (answered once the job is submitted)
  Offset end{0};          // the offset after its last batch (stored or a duplicate's)
  bool in_job = false;    // some of its batches are in the job
  struct Recorded {
    IdempotentBatch idem;
    size_t batch = 0;  // index in the job
  };
  std::vector<Recorded> idempotent;
};

// The producer id of a v2 batch, or -1.
int64_t producer_of(std::span<const std::byte> batch) {
  if (batch.size() < protocol::batch_layout::kHeaderSize) return -1;
  return BatchView(batch).producer_id().value();
}

// Idempotence checks, the leader's stamping and encoding of one checked append's batches into
// `job` (begun on first use). Fills `a`'s outcome; a refused batch sets its error (the batches
// before it stay in the job, as Kafka keeps the earlier batches of a Produce v0-2 request).
void prepare(JobAppend& a, std::unique_ptr<storage::WriteJob>& job) {
  PendingAppend& p = *a.append;
  Broker& broker = *p.broker;
  Partition& part = *p.partition;
  auto refuse = [&a](KafkaError e) {
    a.outcome.error = std::move(e);
    a.answered = true;
  };
  if (!p.error.ok()) return refuse(std::move(p.error));
  // The topic may have been deleted while the records were checked off the loop.
  Topic* t = broker.topics().find(part.topic());
  if (t == nullptr || broker.topics().partition(part.topic(), part.id().value()) != p.partition) {
    return refuse(kNotHosted);
  }
  const config::TopicSettings& settings = t->settings;
  for (size_t i = 0; i < p.records.batches.size(); ++i) {
    auto b = p.records.batches[i];
    IdempotentBatch idem = check_idempotence(broker.producers(), part, BatchView(b));
    if (!idem.error.ok()) return refuse(std::move(idem.error));
    if (idem.duplicate) {
      // A retry of a batch already stored (its response was lost): answer as the first time.
      FERRY_LOG(info, "produce",
                "%s-%d: duplicate batch from producer %lld (epoch %d, sequence %d..%d) "
                "answered with its offset %lld",
                part.topic().c_str(), part.id().value(),
                static_cast<long long>(idem.producer.producer_id), idem.producer.epoch,
                idem.producer.base_sequence, idem.producer.last_sequence(),
                static_cast<long long>(idem.duplicate->first_offset.value()));
      if (i == 0) a.outcome.base_offset = idem.duplicate->first_offset;
      a.end = std::max(a.end, idem.duplicate->last_offset + 1);
      if (settings.log_append_time) a.outcome.log_append_time_ms = idem.duplicate->timestamp_ms;
      continue;
    }
    if (settings.log.cleanup_compact) {
      KafkaError keys = check_compacted_keys(b, part.topic(), part.id().value());
      if (!keys.ok()) return refuse(std::move(keys));
    }
    std::optional<std::vector<std::byte>> encoded;
    if (i < p.encoded.size()) encoded = std::move(p.encoded[i]);
    if (settings.log_append_time) {
      if (encoded) {
        // The rewrite checked the producer's CRC and computed a new one.
        stamp_log_append_time(*encoded, p.now_ms);
      } else {
        // Stamping recomputes the CRC: check the producer's CRC before it is replaced.
        if (BatchView(b).crc() != protocol::compute_batch_crc(b)) {
          return refuse({ErrorCode::corrupt_message, "record batch: CRC mismatch"});
        }
        stamp_log_append_time(b, p.now_ms);
      }
      a.outcome.log_append_time_ms = p.now_ms;
    }
    if (!job) {
      auto begun = part.begin_write();
      if (!begun) return refuse(append_error(broker, begun.error(), b, p.limits));
      job = std::move(begun).value();
    }
    auto info = encoded ? part.add(*job, std::move(*encoded)) : part.add(*job, b);
    if (!info) return refuse(append_error(broker, info.error(), b, p.limits));
    a.in_job = true;
    if (i == 0) a.outcome.base_offset = info->base_offset;
    a.end = std::max(a.end, info->last_offset + 1);
    if (idem.producers != nullptr)
      a.idempotent.push_back({std::move(idem), job->batches.size() - 1});
  }
}

void drain(Broker& broker, const Partition* partition);

// Back on the loop after `partition`'s job: records the idempotent batches (all of them before
// any answer, so the next job's checks see them), answers each append (acks=1) or waits for its
// durability (acks=all), then starts the next job.
void job_done(const std::shared_ptr<Partition>& part, std::vector<JobAppend>& appends,
              const storage::WriteJob& job, const Status& st) {
  Broker& broker = *appends.front().append->broker;
  if (st) {
    for (auto& a : appends) {
      for (const auto& r : a.idempotent) {
        record_idempotence(broker.producers(), *part, r.idem, job.info(r.batch), a.append->now_ms);
      }
    }
  }
  if (st) {
    uint64_t bytes = 0;
    for (const auto& b : job.batches) bytes += b.bytes.size();
    broker.disk_guard().on_appended(bytes);
  }
  for (auto& a : appends) {
    if (a.answered) {
      // Refused after some of its batches went into the job (Produce v0-2); answered here.
      if (a.in_job) a.append->fail(std::move(a.outcome.error));
      continue;
    }
    if (!st && a.in_job) {
      // Every batch of the job failed; none is in the log.
      if (st.error().code() == Errc::no_space) broker.disk_guard().on_no_space();
      a.append->fail(to_kafka_error(st.error()));
      continue;
    }
    a.outcome.log_start_offset = part->log_start_offset();
    complete_when_durable(*a.append, std::move(a.outcome), a.end);
  }
  drain(broker, part.get());
}

// Writes the checked appends at the front of `partition`'s queue: when no job of the partition
// is in flight, every checked append up to the first unchecked one goes into one job (the writes
// of appends queued during the previous job are grouped), except that an idempotent producer
// has at most one batch per job, so its sequence checks always see its previous batches recorded.
void drain(Broker& broker, const Partition* partition) {
  auto& queues = broker.append_queues().by_partition;
  for (;;) {
    auto it = queues.find(partition);
    if (it == queues.end()) return;
    if (partition->write_in_flight()) return;  // its completion drains again
    auto& queue = it->second;
    std::vector<JobAppend> appends;
    std::vector<int64_t> producers;
    while (!queue.empty() && queue.front()->checked) {
      const PendingAppend& next = *queue.front();
      bool again = false;
      for (auto b : next.records.batches) {
        const int64_t pid = producer_of(b);
        if (pid < 0) continue;
        if (std::find(producers.begin(), producers.end(), pid) != producers.end()) again = true;
        producers.push_back(pid);
      }
      if (again && !appends.empty()) break;
      appends.emplace_back().append = std::move(queue.front());
      queue.pop_front();
    }
    if (queue.empty()) queues.erase(it);
    if (appends.empty()) return;
    std::shared_ptr<Partition> part = appends.front().append->partition;
    std::unique_ptr<storage::WriteJob> job;
    for (auto& a : appends) prepare(a, job);
    // Answers may run callbacks that queue more appends: look the queue up again after.
    if (!job || job->empty()) {
      for (auto& a : appends) {
        if (a.answered) {
          a.append->fail(std::move(a.outcome.error));
        } else {
          a.outcome.log_start_offset = part->log_start_offset();
          complete_when_durable(*a.append, std::move(a.outcome), a.end);
        }
      }
      continue;
    }
    auto shared = std::make_shared<std::vector<JobAppend>>(std::move(appends));
    storage::WriteJob* j = job.get();
    part->submit(std::move(job), [part, shared, j](Status st) { job_done(part, *shared, *j, st); });
    // Refused appends are answered now; the job's own once it is back.
    for (auto& a : *shared) {
      if (a.answered && !a.in_job) a.append->fail(std::move(a.outcome.error));
    }
    return;
  }
}

// Starts the next waiting off-loop check unless one runs. A check that cannot be queued runs
// here, on the loop. Each completed check writes what its partition's queue then allows.
void start_off_loop_check(Broker& broker) {
  AppendQueues& q = broker.append_queues();
  while (!q.off_loop_running && !q.off_loop.empty()) {
    std::shared_ptr<PendingAppend> p = std::move(q.off_loop.front());
    q.off_loop.pop_front();
    p->req.data = new std::shared_ptr<PendingAppend>(p);
    const int rc = uv_queue_work(
        broker.loop(), &p->req,
        [](uv_work_t* req) {
          PendingAppend& job = **static_cast<std::shared_ptr<PendingAppend>*>(req->data);
          check_and_encode(job);
        },
        [](uv_work_t* req, int status) {
          std::unique_ptr<std::shared_ptr<PendingAppend>> owner(
              static_cast<std::shared_ptr<PendingAppend>*>(req->data));
          PendingAppend& done = **owner;
          if (status != 0) {
            done.error = {ErrorCode::unknown_server_error, "records check cancelled"};
          }
          done.checked = true;
          Broker& b = *done.broker;
          b.append_queues().off_loop_running = false;
          drain(b, done.partition.get());
          start_off_loop_check(b);
        });
    if (rc == 0) {
      q.off_loop_running = true;
      return;
    }
    delete static_cast<std::shared_ptr<PendingAppend>*>(p->req.data);
    check_and_encode(*p);
    p->checked = true;
    drain(broker, p->partition.get());
  }
}

}  // namespace

void append_partition(Broker& broker, const std::string& topic, int32_t partition,
                      std::span<std::byte> records, int16_t produce_version, bool durable,
                      std::function<void(AppendOutcome)> done) {
  Topic* t = broker.topics().find(topic);
  auto part = broker.topics().partition(topic, partition);
  if (part == nullptr) {
    if (t == nullptr) broker.topics().auto_create(topic);
    AppendOutcome o;
    o.error = kNotHosted;
    done(std::move(o));
    return;
  }
  if (!part->is_leader()) {
    AppendOutcome o;
    o.error = {ErrorCode::not_leader_or_follower,
               "This server does not lead " + topic + "-" + std::to_string(partition) + "."};
    done(std::move(o));
    return;
  }
  if (durable && part->commit_mode() == Partition::Commit::by_replication &&
      std::ssize(part->replicas().isr) < t->settings.min_insync_replicas) {
    // Kafka's check before the write: fewer replicas in sync than min.insync.replicas.
    AppendOutcome o;
    o.error = {ErrorCode::not_enough_replicas,
               std::to_string(part->replicas().isr.size()) + " replicas of " + topic + "-" +
                   std::to_string(partition) + " in sync, min.insync.replicas is " +
                   std::to_string(t->settings.min_insync_replicas)};
    done(std::move(o));
    return;
  }
  if (broker.disk_guard().refuse_produce(t->settings)) {
    // The data directory is nearly full and the topic's disk.full.policy is refuse. Counted
    // and logged (rate-bounded) by the guard, not per batch.
    AppendOutcome o;
    o.error = {ErrorCode::kafka_storage_error,
               "The data directory is nearly full (disk.full.policy=refuse)."};
    done(std::move(o));
    return;
  }
  auto p = std::make_shared<PendingAppend>();
  p->broker = &broker;
  p->partition = part;
  p->durable = durable;
  p->done = std::move(done);
  p->now_ms = broker.clock().now_ms();
  p->limits.max_inflated_bytes =
      std::min(protocol::kMaxInflatedBytes,
               static_cast<size_t>(std::max(broker.config().socket_request_max_bytes, 0)));
  if (auto e = frame_records(records, produce_version, p->now_ms, p->records); !e.ok()) {
    p->fail(std::move(e));
    return;
  }
  if (auto e = check_batch_headers(p->records, produce_version, t->settings); !e.ok()) {
    p->fail(std::move(e));
    return;
  }
  p->settings = t->settings;
  const bool off_loop = broker.loop() != nullptr &&
                        ((!p->records.legacy && p->records.compressed_bytes >= kOffLoopBytes) ||
                         rewrite_bytes(p->records, p->settings) >= kRewriteOffLoopBytes);
  AppendQueues& queues = broker.append_queues();
  queues.by_partition[part.get()].push_back(p);
  if (off_loop) {
    queues.off_loop.push_back(std::move(p));
    start_off_loop_check(broker);
    return;
  }
  check_and_encode(*p);
  p->checked = true;
  drain(broker, part.get());
}

}  // namespace ferry::broker
