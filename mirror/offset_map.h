// Offset translation (docs/mirror.md, "Offset translation"): which target offset corresponds to
// a source offset of a mirrored partition.
//
// The mirror forwards every batch whole and unchanged (same record count and offset deltas;
// only producer id, epoch, base sequence and CRC are rewritten), and the target gives a batch
// consecutive offsets from the base offset it assigns. So all records of one batch share one
// difference target - source, and so does a run of batches that landed back to back. The
// difference changes only where the run breaks: the first batch of a partition, a resend after
// reconciliation when the target holds other records after the mirror's last batch, a gap in the
// source offsets (skipped control batches), or other writers' records between two forwarded
// batches. At each change the mirror records a row (source offset of the batch's first record,
// its target offset) in meta.db (meta/mirror_offsets.h).
//
// Translating source offset N: the row with the greatest source offset <= N gives
// target = N + (row.target - row.source). Offsets inside a source gap (no record there) take
// the target offset of the next record that landed, so a consumer starting there skips nothing.
// Only offsets up to the forwarded position (the checkpoint: the source offset after the last
// acknowledged batch) are answered; the forwarded position itself translates to the target
// offset after that batch.
//
// Pure; OffsetTracker belongs to one partition of one Mirror (its loop thread).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/strong_types.h"

namespace ferry::mirror {

struct OffsetRow {
  Offset source{0};
  int64_t target = 0;  // the target offset of the record at `source`
  bool operator==(const OffsetRow&) const = default;
};

// Notices where acknowledged batches landed and collects the rows to record.
class OffsetTracker {
 public:
  // Starts from the newest recorded row of the partition (nullopt: none, the next landing
  // records one).
  void start(std::optional<OffsetRow> last);
  // The batch holding source offsets [base, next) landed so that `next` corresponds to target
  // offset `target_next`; records a row when its difference differs from the last one.
  void landed(Offset base, Offset next, int64_t target_next);
  // The rows not written yet, oldest first; they are the caller's now.
  std::vector<OffsetRow> take_pending();
  // Gives back rows whose write failed, to go with the next write.
  void restore(std::vector<OffsetRow> rows);
  // A resend from source offset `from` starts (target.lost.policy = resend): rows at or above it
  // describe batches the target no longer holds. Drops the pending ones and forgets the last
  // difference, so the first batch landing again records a row whatever its difference. The
  // recorded rows at or above `from` go with resend_offset_rows_mutation (offset_record.h).
  void resend(Offset from);
  bool has_pending() const noexcept { return !pending_.empty(); }

 private:
  std::optional<int64_t> delta_;  // target - source of the last landed batch
  std::vector<OffsetRow> pending_;
};

enum class TranslationKind {
  exact,          // `target` is the answer
  not_forwarded,  // the source offset is past the forwarded position
  before_map,     // below the oldest row (pruned, or forwarded before rows were kept)
  no_map,         // nothing known for the partition yet
};

struct Translation {
  TranslationKind kind = TranslationKind::no_map;
  int64_t target = -1;  // set when exact
  // Why it is not exact, in words (empty when exact).
  std::string reason;
};

// Translates source offset `n` (>= 0) of a partition with the rows `rows` (ascending by source
// offset) and the checkpoint: `forwarded` (source offset after the last acknowledged batch) and
// `forwarded_target` (the target offset after it; -1 unknown).
Translation translate(std::span<const OffsetRow> rows, Offset forwarded, int64_t forwarded_target,
                      Offset n);

}  // namespace ferry::mirror
