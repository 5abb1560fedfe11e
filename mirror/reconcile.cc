// Reconciliation with the target: parsing fetched batches and the resume decision. See
// reconcile.h.
#include "mirror/reconcile.h"

#include "mirror/sequence.h"
#include "protocol/record_batch.h"

namespace ferry::mirror {

std::vector<TargetBatch> parse_target_batches(std::span<const std::byte> records) {
  std::vector<TargetBatch> out;
  while (records.size() >= protocol::batch_layout::kHeaderSize) {
    const std::optional<size_t> size = protocol::declared_batch_size(records);
    if (!size || *size > records.size()) break;
    const protocol::BatchView b(records.first(*size));
    if (b.magic() == protocol::kMagicV2) {
      out.push_back({b.base_offset().value(), b.last_offset_delta(), b.producer_id().value(),
                     b.base_sequence(), b.is_control()});
    }
    records = records.subspan(*size);
  }
  return out;
}

void Reconciler::feed(std::span<const TargetBatch> batches) {
  for (const TargetBatch& b : batches) {
    if (b.base_offset < resume_target_) continue;  // before the checkpoint (fetch rounds down)
    if (b.control || ours_.count(b.producer_id) == 0) continue;
    // Every batch sent after the checkpoint started at or after its source offset.
    const Offset base = source_for(b.base_sequence, floor_);
    const Offset next = base + b.last_offset_delta + 1;
    if (base != resume_source_ && !problem_) {
      problem_ = base > resume_source_
                     ? "the target holds source offsets from " + std::to_string(base.value()) +
                           " at target offset " + std::to_string(b.base_offset) +
                           " but not those from " + std::to_string(resume_source_.value())
                     : "the target holds source offset " + std::to_string(base.value()) +
                           " twice (again at target offset " + std::to_string(b.base_offset) + ")";
    }
    ++found_;
    resume_source_ = std::max(resume_source_, next);
    resume_target_ = b.base_offset + b.last_offset_delta + 1;
    landed_.push_back({base, next, resume_target_});
  }
}

}  // namespace ferry::mirror
