// DiskGuard: the per-topic disk-full policies (refuse produce / drop the oldest segments) and
// their counters. See disk_guard.h.
#include "broker/disk_guard.h"

#include <algorithm>
#include <cinttypes>
#include <set>
#include <vector>

#include "broker/topic_manager.h"
#include "common/log.h"

namespace ferry::broker {

DiskGuard::DiskGuard(uv_loop_t* loop, TopicManager& topics, const Clock& clock,
                     uint64_t min_free_bytes, FreeSpace free_space)
    : topics_(topics),
      clock_(clock),
      min_free_(min_free_bytes),
      free_space_(std::move(free_space)) {
  if (loop != nullptr) {
    timer_ = std::make_unique<UvTimer>(loop);
    soon_ = std::make_unique<UvTimer>(loop);
  }
}

void DiskGuard::start() {
  check();
  if (!timer_) return;
  timer_->start(kCheckIntervalMs, [this] { start(); });
  timer_->unref();
}

void DiskGuard::stop() {
  if (timer_) timer_->stop();
  if (soon_) soon_->stop();
}

void DiskGuard::on_no_space() {
  ++counters_.produce_refused;
  ++counters_.enospc_writes;
  if (enospc_pending_) return;  // a check is on its way
  enospc_pending_ = true;
  if (!soon_) {
    check();
    return;
  }
  soon_->start(0, [this] { check(); });
}

void DiskGuard::on_appended(uint64_t bytes) {
  if (!last_available_) return;
  appended_since_check_ += bytes;
  const uint64_t margin = *last_available_ > min_free_ ? *last_available_ - min_free_ : 0;
  if (low_ || appended_since_check_ >= margin / 2) check();
}

bool DiskGuard::refuse_produce(const config::TopicSettings& settings) {
  if (!low_ || settings.drop_oldest_when_full) return false;
  ++counters_.produce_refused;
  return true;
}

void DiskGuard::check() {
  const bool enospc = enospc_pending_;
  enospc_pending_ = false;
  appended_since_check_ = 0;
  auto space = free_space_();
  if (!space) {
    FERRY_LOG_RATELIMITED(warn, "broker", "free space check failed",
                          "disk.full.policy: cannot read the data directory's free space: %s",
                          space.error().to_string().c_str());
    return;
  }
  uint64_t available = space->available_bytes;
  uint64_t need = available < min_free_ ? min_free_ - available : 0;
  // A write failed for lack of space although statvfs shows enough (a quota, reserved blocks,
  // a burst between two checks): free at least one segment.
  if (enospc && need == 0) need = 1;
  if (need > 0) available += drop_oldest(need);
  set_low(available < min_free_, available);
}

void DiskGuard::set_low(bool low, uint64_t available) {
  last_available_ = available;
  const int64_t now = clock_.now_ms();
  if (low && !low_) {
    ++counters_.low_space_episodes;
    at_low_start_ = counters_;
    low_logged_ms_ = now;
    FERRY_LOG(warn, "broker",
              "data directory nearly full: %" PRIu64
              " bytes free, log.dir.min.free.bytes is %" PRIu64
              "; produce to topics with disk.full.policy=refuse is refused (KAFKA_STORAGE_ERROR) "
              "until space is freed",
              available, min_free_);
  } else if (low && now - low_logged_ms_ >= kLowLogIntervalMs) {
    low_logged_ms_ = now;
    FERRY_LOG(warn, "broker",
              "data directory still nearly full: %" PRIu64 " bytes free; since it filled: %" PRIu64
              " produce requests refused, %" PRIu64 " bytes dropped",
              available, counters_.produce_refused - at_low_start_.produce_refused,
              counters_.bytes_dropped - at_low_start_.bytes_dropped);
  } else if (!low && low_) {
    FERRY_LOG(info, "broker",
              "data directory has space again: %" PRIu64 " bytes free; while it was full: %" PRIu64
              " produce requests refused, %" PRIu64 " bytes dropped",
              available, counters_.produce_refused - at_low_start_.produce_refused,
              counters_.bytes_dropped - at_low_start_.bytes_dropped);
  }
  low_ = low;
}

uint64_t DiskGuard::drop_oldest(uint64_t need) {
  uint64_t freed = 0;
  std::set<const Partition*> exhausted;  // nothing more to drop in this pass
  while (freed < need) {
    // The largest log of a drop_oldest topic loses its oldest segment first.
    std::shared_ptr<Partition> pick;
    for (const auto& [name, topic] : topics_.topics()) {
      if (topic.deleting || !topic.settings.drop_oldest_when_full) continue;
      for (const auto& p : topic.partitions) {
        if (!p || exhausted.count(p.get()) != 0) continue;
        if (!pick || p->log().size_bytes() > pick->log().size_bytes()) pick = p;
      }
    }
    if (!pick) break;
    auto dropped = pick->log().drop_oldest_segment();
    if (!dropped) {
      FERRY_LOG(warn, "broker", "disk.full.policy=drop_oldest: %s-%d: %s", pick->topic().c_str(),
                pick->id().value(), dropped.error().to_string().c_str());
      exhausted.insert(pick.get());
      continue;
    }
    if (!*dropped) {
      exhausted.insert(pick.get());
      continue;
    }
    const storage::DroppedSegment& d = **dropped;
    if (d.bytes == 0 && d.next == d.first) continue;  // an empty segment: nothing to report
    const uint64_t offsets = static_cast<uint64_t>(d.next.value() - d.first.value());
    uint64_t unforwarded = 0;
    std::string note;
    if (auto floor = pick->retention_floor(); floor && *floor < d.next) {
      const Offset from = std::max(*floor, d.first);
      unforwarded = static_cast<uint64_t>(d.next.value() - from.value());
      note = "; offsets " + std::to_string(from.value()) + " to " +
             std::to_string(d.next.value() - 1) + " were not yet forwarded by the mirror";
    }
    freed += d.bytes;
    counters_.bytes_dropped += d.bytes;
    counters_.offsets_dropped += offsets;
    counters_.unforwarded_offsets_dropped += unforwarded;
    ++counters_.segments_dropped;
    FERRY_LOG(error, "broker",
              "disk full, disk.full.policy=drop_oldest: dropped %s-%d offsets %" PRId64
              " to %" PRId64 " (%" PRIu64 " bytes)%s; %" PRIu64 " bytes dropped since start",
              pick->topic().c_str(), pick->id().value(), d.first.value(), d.next.value() - 1,
              d.bytes, note.c_str(), counters_.bytes_dropped);
  }
  return freed;
}

}  // namespace ferry::broker
