// Partition: leader epoch, high watermark and fetch wake-ups over a storage::Log. See partition.h.
#include "broker/partition.h"

#include <algorithm>

#include "broker/fetch_waiters.h"
#include "protocol/record_batch.h"

namespace ferry::broker {

Partition::Partition(std::string topic, PartitionId id, std::shared_ptr<storage::Log> log,
                     FetchWaiters* waiters, Commit commit)
    : topic_(std::move(topic)), id_(id), log_(std::move(log)), waiters_(waiters), commit_(commit) {
  leader_epoch_ = std::max(LeaderEpoch(0), log_->last_epoch());
  high_watermark_ =
      commit_ == Commit::on_append ? log_->log_end_offset() : log_->log_start_offset();
}

void Partition::set_leader_epoch(LeaderEpoch epoch) {
  leader_epoch_ = std::max(leader_epoch_, epoch);
}

Result<storage::AppendInfo> Partition::append(std::span<std::byte> batch,
                                              storage::AppendOptions options) {
  if (batch.size() >= protocol::batch_layout::kHeaderSize) {
    protocol::set_leader_epoch(batch, leader_epoch_);
  }
  auto info = log_->append(batch, std::move(options));
  if (!info) return info;
  appended(*info);
  if (commit_ == Commit::on_append) advance_high_watermark(log_->log_end_offset());
  return info;
}

Result<storage::AppendInfo> Partition::add(storage::WriteJob& job, std::span<std::byte> batch) {
  if (batch.size() >= protocol::batch_layout::kHeaderSize) {
    protocol::set_leader_epoch(batch, leader_epoch_);
  }
  return log_->add(job, batch);
}

Result<storage::AppendInfo> Partition::add(storage::WriteJob& job, std::vector<std::byte> batch) {
  if (batch.size() >= protocol::batch_layout::kHeaderSize) {
    protocol::set_leader_epoch(batch, leader_epoch_);
  }
  return log_->add(job, std::move(batch));
}

void Partition::submit(std::unique_ptr<storage::WriteJob> job, std::function<void(Status)> done) {
  storage::WriteJob* j = job.get();
  // `j` lives until the log's completion callback returns, which runs this one.
  log_->submit(std::move(job), [this, j, done = std::move(done)](Status st) {
    if (st) {
      for (size_t i = 0; i < j->batches.size(); ++i) appended(j->info(i));
      if (commit_ == Commit::on_append) advance_high_watermark(log_->log_end_offset());
    }
    done(std::move(st));
    if (on_change_ && !j->batches.empty()) on_change_();
  });
}

void Partition::append_epoch_start(LeaderEpoch epoch, int64_t now_ms,
                                   std::function<void(Result<storage::AppendInfo>)> done) {
  if (epoch < leader_epoch_) {
    done(Error(Errc::invalid_argument, log_->dir() + ": epoch " + std::to_string(epoch.value()) +
                                           " is below the current " +
                                           std::to_string(leader_epoch_.value())));
    return;
  }
  auto job = begin_write();
  if (!job) {
    done(std::move(job).error());
    return;
  }
  set_leader_epoch(epoch);
  auto info = add(**job, protocol::build_epoch_start_batch(epoch, now_ms));
  if (!info) {
    done(std::move(info).error());
    return;
  }
  submit(std::move(*job), [info = *info, done = std::move(done)](Status st) {
    if (!st) {
      done(std::move(st).error());
      return;
    }
    done(info);
  });
}

Result<storage::AppendInfo> Partition::append_at_offset(std::span<const std::byte> batch) {
  if (batch.size() < protocol::batch_layout::kHeaderSize) {
    return Error(Errc::corrupt, log_->dir() + ": not a record batch");
  }
  const protocol::BatchView view(batch);
  if (view.base_offset() != log_->log_end_offset()) {
    return Error(Errc::invalid_argument, log_->dir() + ": a copied batch starts at offset " +
                                             std::to_string(view.base_offset().value()) +
                                             ", the log ends at " +
                                             std::to_string(log_->log_end_offset().value()));
  }
  auto info = log_->append(batch);
  if (!info) return info;
  appended(*info);
  return info;
}

Result<Offset> Partition::truncate_to(Offset offset) {
  auto end = log_->truncate_to(offset);
  if (!end) return end;
  while (!uncommitted_.empty() && uncommitted_.back().end > *end) uncommitted_.pop_back();
  high_watermark_ = std::min(high_watermark_, *end);
  if (on_change_) on_change_();
  return end;
}

void Partition::appended(const storage::AppendInfo& info) {
  uncommitted_.push_back(Uncommitted{info.last_offset + 1, info.stored_bytes});
}

void Partition::advance_high_watermark(Offset offset) {
  offset = std::min(offset, log_->log_end_offset());
  if (offset <= high_watermark_) return;
  high_watermark_ = offset;
  size_t visible = 0;
  while (!uncommitted_.empty() && uncommitted_.front().end <= offset) {
    visible += uncommitted_.front().bytes;
    uncommitted_.pop_front();
  }
  if (waiters_ != nullptr && visible > 0) waiters_->notify(topic_, id_.value(), visible);
  while (!commit_waits_.empty() && commit_waits_.front().end <= high_watermark_) {
    auto done = std::move(commit_waits_.front().done);
    commit_waits_.pop_front();
    done(KafkaError());
  }
}

void Partition::set_replicas(Replicas replicas, bool is_leader) {
  replicas_ = std::move(replicas);
  const bool lost = is_leader_ && !is_leader;
  is_leader_ = is_leader;
  if (!lost) return;
  auto waits = std::move(commit_waits_);
  commit_waits_.clear();
  for (auto& w : waits) {
    w.done(KafkaError(ErrorCode::not_leader_or_follower,
                      "leadership of " + topic_ + "-" + std::to_string(id_.value()) +
                          " moved before the write was committed"));
  }
}

void Partition::when_committed(Offset end, std::function<void(KafkaError)> done) {
  if (commit_ == Commit::on_append || end <= high_watermark_) {
    done(KafkaError());
    return;
  }
  if (!is_leader_) {
    done(KafkaError(ErrorCode::not_leader_or_follower, "not the leader"));
    return;
  }
  // Appends complete in offset order, so the queue stays sorted; insert in place otherwise.
  auto at = commit_waits_.end();
  while (at != commit_waits_.begin() && std::prev(at)->end > end) --at;
  commit_waits_.insert(at, CommitWait{end, std::move(done)});
}

Result<storage::ReadResult> Partition::read(Offset from, size_t max_bytes) const {
  return log_->read(from, max_bytes, high_watermark_);
}

Result<std::optional<Offset>> Partition::offset_for_timestamp(int64_t timestamp_ms) const {
  auto found = log_->offset_for_timestamp(timestamp_ms);
  if (found && *found && **found >= high_watermark_) return std::optional<Offset>();
  return found;
}

}  // namespace ferry::broker
