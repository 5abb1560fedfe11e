// The mirror's sequence numbers: a forwarded batch's base sequence is its source base offset
// mod 2^31 (docs/mirror.md), so a batch found at the target names the source offsets it holds.
// Pure functions; any thread.
#pragma once

#include <cstdint>

#include "common/strong_types.h"

namespace ferry::mirror {

inline constexpr int64_t kSequenceModulus = int64_t{1} << 31;

// The base sequence of the batch whose first record has source offset `source` (>= 0).
inline int32_t sequence_for(Offset source) noexcept {
  return static_cast<int32_t>(source.value() % kSequenceModulus);
}

// The source offset a base sequence names, given a lower bound the batch cannot start below
// (the checkpoint the scan started from): the one offset >= `floor` with that value mod 2^31.
// Unambiguous as long as fewer than 2^31 records were sent past the checkpoint.
inline Offset source_for(int32_t base_sequence, Offset floor) noexcept {
  const int64_t f = floor.value();
  const int64_t delta =
      ((base_sequence - f % kSequenceModulus) % kSequenceModulus + kSequenceModulus) %
      kSequenceModulus;
  return Offset(f + delta);
}

}  // namespace ferry::mirror
