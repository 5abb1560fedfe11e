// One partition of a topic as the Kafka handlers see it: the storage::Log plus what a replica
// keeps beside it — the leader epoch stamped into batches, the high watermark (what consumers
// may read), the keep-until-mirrored retention floor — and the wake-up of parked fetches.
//
// Offsets, in order:  log start <= high watermark <= log end, and durable <= log end.
// - log end: the offset after the last batch written (page cache or disk).
// - durable: everything below it is on disk (storage::Log::durable_offset).
// - high watermark: everything below it is committed and may be served to consumers. It is kept
//   apart from the other two. With Commit::on_append (a single node, today) it moves to the log
//   end after every append, which is what ferry has always served; with Commit::by_replication
//   it moves only by advance_high_watermark (the replication engine, src/cluster).
//
// Leaders write with write jobs (begin_write, add, submit: the batches are written on the thread
// pool and taken into the partition when the job is back on the loop; the produce path) or with
// append() (synchronous: tools, tests); followers copy the leader's batches with append_at_offset()
// and cut a diverging tail with truncate_to(). Each time the high watermark moves, the bytes that
// became visible are reported to FetchWaiters, which completes parked fetches.
//
// Ownership: TopicManager holds each Partition in a shared_ptr (in-flight appends keep theirs);
// the Partition shares its Log with storage::LogManager. Threading: loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/kafka_error.h"
#include "common/result.h"
#include "common/strong_types.h"
#include "storage/log.h"

namespace ferry::broker {

class FetchWaiters;

class Partition {
 public:
  // How the high watermark moves.
  enum class Commit {
    on_append,       // single node: an append is committed as soon as it is written
    by_replication,  // only advance_high_watermark() moves it
  };

  // `waiters` may be null (no parked fetches to wake, e.g. tools). The leader epoch starts at the
  // last epoch of the log's leader-epoch cache (storage::Log::last_epoch) when that is >= 0,
  // else at 0 (a single node never changes it); the high watermark starts at the log end
  // (on_append) or the log start.
  Partition(std::string topic, PartitionId id, std::shared_ptr<storage::Log> log,
            FetchWaiters* waiters, Commit commit = Commit::on_append);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  const std::string& topic() const noexcept { return topic_; }
  PartitionId id() const noexcept { return id_; }
  storage::Log& log() const noexcept { return *log_; }
  const std::shared_ptr<storage::Log>& shared_log() const noexcept { return log_; }

  LeaderEpoch leader_epoch() const noexcept { return leader_epoch_; }
  // A new leadership term (replication). Epochs never go back: a lower one is ignored.
  void set_leader_epoch(LeaderEpoch epoch);
  // Leader, on becoming leader of `epoch` (replication): moves the leader epoch to `epoch` and
  // appends the epoch's first batch, one offset without records stamped with it
  // (protocol::build_epoch_start_batch), through a write job; its timestamp is `now_ms`.
  // `done` fires on the loop with the batch's offsets, after the batch was taken as any leader
  // write is (high watermark with Commit::on_append). An epoch below the current one is
  // invalid_argument, as is a write job in flight (the caller retries after it), and log
  // errors are the log's; `done` then fires before this returns. The caller keeps the Partition
  // alive until `done` has fired.
  void append_epoch_start(LeaderEpoch epoch, int64_t now_ms,
                          std::function<void(Result<storage::AppendInfo>)> done);

  Offset log_start_offset() const noexcept { return log_->log_start_offset(); }
  Offset log_end_offset() const noexcept { return log_->log_end_offset(); }
  Offset durable_offset() const noexcept { return log_->durable_offset(); }
  Offset high_watermark() const noexcept { return high_watermark_; }

  // Leader write: stamps the current leader epoch into `batch` (partitionLeaderEpoch, outside
  // the CRC), appends it, and with Commit::on_append advances the high watermark over it (which
  // wakes parked fetches). Errors are the log's (see storage::Log::append).
  Result<storage::AppendInfo> append(std::span<std::byte> batch,
                                     storage::AppendOptions options = {});

  // Leader write off the loop (storage::Log::begin_write/add/submit; one job in flight per
  // partition). add() stamps the current leader epoch into `batch` and gives it the job's next
  // offset; the bytes must stay valid until the job completes (the vector overload hands them
  // to the job). When the job succeeded, its batches are taken as append() takes one (high
  // watermark with Commit::on_append, fetch wake-ups) before `done` fires on the loop; on an
  // error nothing moved. The caller keeps the Partition alive until `done` has fired.
  Result<std::unique_ptr<storage::WriteJob>> begin_write() { return log_->begin_write(); }
  Result<storage::AppendInfo> add(storage::WriteJob& job, std::span<std::byte> batch);
  Result<storage::AppendInfo> add(storage::WriteJob& job, std::vector<std::byte> batch);
  void submit(std::unique_ptr<storage::WriteJob> job, std::function<void(Status)> done);
  bool write_in_flight() const noexcept { return log_->write_in_flight(); }

  // Follower write: stores a batch copied from the leader as it is (base offset and leader epoch
  // included). The batch must start at the log end (invalid_argument otherwise). The high
  // watermark does not move: the leader says where it is (advance_high_watermark).
  Result<storage::AppendInfo> append_at_offset(std::span<const std::byte> batch);

  // Follower: removes every batch that holds an offset at or above `offset` (a batch holding
  // `offset` goes whole, so the new log end may be lower). The high watermark is lowered to the
  // new log end if it was above. Returns the new log end. See storage::Log::truncate_to.
  Result<Offset> truncate_to(Offset offset);

  // `done` fires on the loop once everything written so far is on disk (acks=all); see
  // storage::Log::flush.
  void flush(storage::DurableCallback done) { log_->flush(std::move(done)); }

  // Moves the high watermark up to `offset` (capped at the log end; never down) and wakes the
  // fetches waiting for what became visible.
  void advance_high_watermark(Offset offset);

  // Replication. Who leads this partition and who holds it, as the replication engine last set
  // it; a single node leads every partition and is its only replica (TopicManager sets that).
  struct Replicas {
    NodeId leader{-1};             // -1: no leader known (an election is running)
    std::vector<NodeId> replicas;  // the assignment, preferred leader first
    std::vector<NodeId> isr;       // in sync (the leader included); the leader's view
    std::vector<NodeId> offline;   // replicas known to be down
  };
  const Replicas& replicas() const noexcept { return replicas_; }
  // Whether this node leads the partition and may take produce and consumer fetch requests.
  bool is_leader() const noexcept { return is_leader_; }
  // Sets the view above. Losing leadership fails every commit wait with NOT_LEADER_OR_FOLLOWER.
  void set_replicas(Replicas replicas, bool is_leader);

  // Commit::by_replication: `done` fires once the high watermark reaches `end` (every offset
  // below it is committed), or with NOT_LEADER_OR_FOLLOWER when this node stops leading first.
  // With Commit::on_append it fires at once. Loop thread; waits fire in offset order.
  void when_committed(Offset end, std::function<void(KafkaError)> done);
  Commit commit_mode() const noexcept { return commit_; }
  // Called after every leader write job that took batches, and after truncate_to (replication
  // wakes follower fetches and recomputes the high watermark from it). Empty: nothing.
  void set_change_listener(std::function<void()> listener) { on_change_ = std::move(listener); }

  // Whole batches from `from`, never past the high watermark (see storage::Log::read).
  Result<storage::ReadResult> read(Offset from, size_t max_bytes) const;
  // ListOffsets by timestamp (storage::Log::offset_for_timestamp), nullopt at or past the high
  // watermark.
  Result<std::optional<Offset>> offset_for_timestamp(int64_t timestamp_ms) const;
  // Where the log lives, for error reports: its directory and a segment file's path.
  const std::string& dir() const noexcept { return log_->dir(); }
  std::string segment_path(Offset segment) const { return log_->segment_path(segment); }

  // The "keep until mirrored" floor retention must not delete at or above (nullopt: none).
  std::optional<Offset> retention_floor() const noexcept { return retention_floor_; }
  void set_retention_floor(std::optional<Offset> floor) noexcept { retention_floor_ = floor; }

 private:
  void appended(const storage::AppendInfo& info);

  std::string topic_;
  PartitionId id_;
  std::shared_ptr<storage::Log> log_;
  FetchWaiters* waiters_;
  Commit commit_;
  LeaderEpoch leader_epoch_{0};
  Offset high_watermark_{0};
  std::optional<Offset> retention_floor_;
  // Batches written but not yet under the high watermark: their end offset and stored bytes, so
  // fetches are woken with the bytes that became visible.
  struct Uncommitted {
    Offset end;
    size_t bytes = 0;
  };
  std::deque<Uncommitted> uncommitted_;
  Replicas replicas_;
  bool is_leader_ = true;
  struct CommitWait {
    Offset end;
    std::function<void(KafkaError)> done;
  };
  std::deque<CommitWait> commit_waits_;  // by end offset (appends complete in offset order)
  std::function<void()> on_change_;
};

}  // namespace ferry::broker
