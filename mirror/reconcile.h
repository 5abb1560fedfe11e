// Reconciliation (docs/mirror.md): from the batches found on the target partition after the
// last recorded target offset, decide exactly which source records landed and where forwarding
// resumes. Pure: the forwarder fetches, this decides; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/strong_types.h"

namespace ferry::mirror {

// The header fields of one batch read back from the target.
struct TargetBatch {
  int64_t base_offset = 0;  // the target's offset
  int32_t last_offset_delta = 0;
  int64_t producer_id = -1;
  int32_t base_sequence = -1;
  bool control = false;
};

// Splits fetched bytes into batch headers; a trailing partial batch (fetch responses may end
// mid-batch) and anything that is not a v2 batch are left out.
std::vector<TargetBatch> parse_target_batches(std::span<const std::byte> records);

// Scans the target's batches in order. Start with the last checkpoint (the source offset after
// the last acknowledged batch and the target offset after it) and the mirror's producer ids.
class Reconciler {
 public:
  Reconciler(Offset source_checkpoint, int64_t target_checkpoint, std::set<int64_t> producer_ids)
      : floor_(source_checkpoint),
        resume_source_(source_checkpoint),
        resume_target_(target_checkpoint),
        ours_(std::move(producer_ids)) {}

  // Feeds the next batches (target offsets increasing).
  void feed(std::span<const TargetBatch> batches);

  // Where forwarding resumes: the source offset after the last of the mirror's batches found
  // (or the checkpoint when none was), and the target offset after that batch.
  Offset resume_source() const noexcept { return resume_source_; }
  int64_t resume_target() const noexcept { return resume_target_; }
  // How many of the mirror's batches were found past the checkpoint.
  int found() const noexcept { return found_; }
  // Each of them: its source offsets [base, next) and the target offset after it (the offset
  // map, offset_map.h).
  struct Landed {
    Offset base{0};
    Offset next{0};
    int64_t target_next = 0;
  };
  const std::vector<Landed>& landed() const noexcept { return landed_; }
  // Set when the target holds the mirror's batches out of order: one that starts past the
  // source offset expected next (a hole: records would be skipped) or one that repeats records
  // already found (a duplicate). Forwarding must not resume silently then.
  const std::optional<std::string>& problem() const noexcept { return problem_; }

 private:
  Offset floor_;  // resolves the mod 2^31 of every batch found
  Offset resume_source_;
  int64_t resume_target_;
  std::set<int64_t> ours_;
  int found_ = 0;
  std::vector<Landed> landed_;
  std::optional<std::string> problem_;
};

}  // namespace ferry::mirror
